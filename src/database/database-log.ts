import { Logger as TypeOrmLogger } from 'typeorm';
import { Logger } from '../logging/logger';

const UNIQUE_VIOLATION = '23505';

/**
 * TypeORM's logger: counts and logs failed database operations (queries the database rejected,
 * connections that could not be opened) and logs each migration applied. A unique violation is
 * an answer ("already exists"), not an error. Queries are logged without their parameters, which
 * may hold password hashes. It also reports opening the database at start.
 */
export class DatabaseLog implements TypeOrmLogger {
  private count = 0;
  private opening = false;

  constructor(private readonly logger: Logger) {}

  /** Failed queries and connections since start. */
  get errors(): number {
    return this.count;
  }

  /** While the database is opened at start, a connection the pool could not open is reported once, by openAtStart. */
  async whileOpening<T>(open: () => Promise<T>): Promise<T> {
    this.opening = true;
    try {
      return await open();
    } finally {
      this.opening = false;
    }
  }

  /** A failed attempt to open the database at start, to be tried again. */
  retrying(message: string): void {
    this.logger.warn(message);
  }

  /** A connection the pool could not open; while opening at start, openAtStart reports it instead. */
  connectionFailed(error: Error): void {
    this.count++;
    if (this.opening) return;
    this.logger.error({ err: error }, `cannot connect to the database: ${error.message}`);
  }

  logQueryError(error: string | Error, query: string): void {
    if (typeof error === 'object' && (error as { code?: string }).code === UNIQUE_VIOLATION) return;
    this.count++;
    const message = typeof error === 'string' ? error : error.message;
    this.logger.error({ query }, `database query failed: ${message}`);
  }

  /** TypeORM's own messages; a warning is the pool reporting a lost connection. */
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level !== 'warn') {
      this.logger.debug(String(message));
      return;
    }
    this.count++;
    this.logger.error(String(message));
  }

  logMigration(message: string): void {
    this.logger.error(message);
  }

  /** Migration progress: each migration applied at start is worth an info line, the rest is detail. */
  logSchemaBuild(message: string): void {
    if (message.startsWith('Migration ')) this.logger.info(message);
    else this.logger.debug(message);
  }

  /**
   * What the database is doing at start (creating or opening the embedded one, waiting for another
   * server's migrations), which can take seconds.
   */
  progress(message: string): void {
    this.logger.info(message);
  }

  logQuery(): void {}

  logQuerySlow(): void {}
}
