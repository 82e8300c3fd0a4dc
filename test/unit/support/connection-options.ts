import { ConnectionOptions } from '../../../src/transport/connection';

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
