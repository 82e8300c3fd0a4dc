import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ChatServer } from './chat-server';
import { launch } from './launch';

async function main(): Promise<void> {
  let server: ChatServer | undefined;
  let requested: NodeJS.Signals | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A signal that arrives while the server is still starting is acted on once it has started.
    if (!server) {
      requested = signal;
      return;
    }
    if (stopping) return;
    stopping = true;
    new Logger('Shutdown').log(`${signal} received, shutting down`);
    server.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`chat-server: shutdown failed: ${error.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const result = await launch(process.argv.slice(2), process.env, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  if ('exitCode' in result) process.exit(result.exitCode);
  server = result.server;
  if (requested) stop(requested);
}

void main();
