import { DestinationStream } from 'pino';
import { createLogger, Logger } from '../../../src/logging/logger';
import { LogLevel } from '../../../src/config/settings';

/** One JSON log line, parsed. */
export interface LogEntry {
  readonly level: number;
  readonly msg: string;
  readonly context?: string;
  readonly [field: string]: unknown;
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** A log destination that keeps every line, for tests that read what a server logged. */
export class LogCapture implements DestinationStream {
  readonly raw: string[] = [];

  write(line: string): void {
    this.raw.push(line);
  }

  get entries(): LogEntry[] {
    return this.raw.map((line) => JSON.parse(line) as LogEntry);
  }

  /** The entries at `level` and above. */
  atLeast(level: number): LogEntry[] {
    return this.entries.filter((entry) => entry.level >= level);
  }

  logger(level: LogLevel = 'debug'): Logger {
    return createLogger({ logLevel: level, logFormat: 'json' }, this);
  }

  clear(): void {
    this.raw.length = 0;
  }
}
