import { ConnectionOptions } from '../../../src/transport/connection';
import { LineServerOptions } from '../../../src/transport/line-server';

/** Generous limits, so that unit tests of Connection see only what they provoke themselves. */
export const TEST_CONNECTION_OPTIONS: ConnectionOptions = {
  maxLineBytes: 4096,
  idleFlushMs: 0,
  commandsPerSecond: 1000,
  commandBurst: 1000,
  maxQueuedCommands: 100,
  unauthenticatedIdleMs: 60_000,
  sendQueueBytes: 65_536,
};

/** A line server on a free loopback port with generous limits, for unit tests that start one. */
export const TEST_LINE_SERVER_OPTIONS: LineServerOptions = {
  ...TEST_CONNECTION_OPTIONS,
  port: 0,
  host: '127.0.0.1',
  connectionsPerAddress: 100,
  maxConnections: 100,
  exemptLoopback: true,
  shutdownGraceMs: 500,
};
