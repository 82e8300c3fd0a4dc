import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { constants } from 'node:os';
import { ChatServer } from './chat-server';
import { launch } from './launch';

type Stop = (signal: NodeJS.Signals) => void;

/**
 * Before the server serves, a signal ends the process at once: nothing has been accepted that
 * could be lost, a new embedded database is built aside and renamed into place only when whole,
 * and PostgreSQL rolls back a migration cut short. Exit code 128 + the signal's number.
 */
const stopStarting: Stop = (signal) => {
  process.stderr.write(`chat-server: ${signal} received during start-up: stopped before serving\n`);
  process.exit(128 + constants.signals[signal]);
};

/** Once it serves: stop accepting, finish the commands received, close everything, exit 0. */
function stopServing(server: ChatServer): Stop {
  let stopping = false;
  return (signal) => {
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
}

async function main(): Promise<void> {
  let stop = stopStarting;
  const onSignal = (signal: NodeJS.Signals) => stop(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const result = await launch(process.argv.slice(2), process.env, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  if ('exitCode' in result) process.exit(result.exitCode);
  stop = stopServing(result.server);
}

void main();
