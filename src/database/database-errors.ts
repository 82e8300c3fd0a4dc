import { Logger as TypeOrmLogger } from 'typeorm';
import { Logger } from '../logging/logger';

const UNIQUE_VIOLATION = '23505';

/**
 * Counts and logs failed database operations: queries the database rejected and connections that
 * could not be opened. A unique violation is an answer ("already exists"), not an error. Queries
 * are logged without their parameters, which may hold password hashes.
 */
export class DatabaseErrors implements TypeOrmLogger {
  private count = 0;

  constructor(private readonly logger: Logger) {}

  get total(): number {
    return this.count;
  }

  connectionFailed(error: Error): void {
    this.count++;
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
    this.logger.info(message);
  }

  logQuery(): void {}

  logQuerySlow(): void {}

  logSchemaBuild(): void {}
}
