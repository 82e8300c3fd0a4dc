import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { launch } from './launch';

async function main(): Promise<void> {
  const result = await launch(process.argv.slice(2), process.env, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  if ('exitCode' in result) process.exit(result.exitCode);
  const { server } = result;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
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
}

void main();
