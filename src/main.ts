import 'reflect-metadata';
import type { Logger as NestLogger } from '@nestjs/common';
import { constants } from 'node:os';
import type { ChatServer } from './chat-server';
import { lowerPoolPriority, sizeThreadPool } from './config/thread-pool';
import { keepCommandObjectsYoung } from './config/young-generation';
import { prepareEmbeddedThread } from './database/embedded-thread';
import type { reloadConfiguration as Reload } from './launch';

/** Nest's logger, loaded with the server's modules: loading it first would delay the start by its size. */
type LoggerClass = typeof NestLogger;

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
function stopServing(server: ChatServer, Logger: LoggerClass): Stop {
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

/** SIGHUP while starting: nothing to reload yet; the configuration being started is the file's. */
const reloadWhileStarting = (): void => {
  process.stderr.write('chat-server: SIGHUP received during start-up: ignored (the configuration is being read now)\n');
};

/** Once it serves, SIGHUP reloads the configuration (one at a time; one that comes meanwhile follows). */
function reloader(
  server: ChatServer,
  argv: readonly string[],
  Logger: LoggerClass,
  reloadConfiguration: typeof Reload,
): () => void {
  const log = new Logger('Configuration');
  let running: Promise<void> = Promise.resolve();
  return () => {
    running = running
      .then(() => reloadConfiguration(argv, process.env, server, { log: (m) => log.log(m), error: (m) => log.error(m) }))
      .catch((error: Error) => log.error(`configuration reload failed: ${error.message}`));
  };
}

async function main(): Promise<void> {
  keepCommandObjectsYoung();
  sizeThreadPool();
  lowerPoolPriority();
  // Unless PostgreSQL is named already, the embedded database's thread starts first, and loads
  // PostgreSQL's code on the other core while this one reads the configuration.
  if (!process.env.DATABASE_URL) prepareEmbeddedThread();
  let stop = stopStarting;
  let reload = reloadWhileStarting;
  const onSignal = (signal: NodeJS.Signals) => stop(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', () => reload());

  const { launch, reloadConfiguration } = await import('./launch');
  const argv = process.argv.slice(2);
  const result = await launch(argv, process.env, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  if ('exitCode' in result) process.exit(result.exitCode);
  const { Logger } = await import('@nestjs/common');
  stop = stopServing(result.server, Logger);
  reload = reloader(result.server, argv, Logger, reloadConfiguration);
}

void main();
