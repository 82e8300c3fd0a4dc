import { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { DatabaseLog } from './database-log';
import { MIGRATIONS } from './migrations';
import { observedPg } from './observed-pg';
import { pgliteDriver } from './pglite-driver';

export interface DatabaseSettings {
  /** PostgreSQL connection string; unset means the embedded database. */
  readonly url?: string;
  /** Where the embedded database keeps its files. */
  readonly dataDir: string;
}

/**
 * The one description of the database, used by the server and by the TypeORM CLI (ormconfig.ts).
 * The schema comes only from migrations, which run when the server starts (on PostgreSQL under a
 * lock, by openDataSource in migrate-under-lock.ts). With `log`, failed queries and connections
 * are counted and logged there.
 */
export function databaseOptions(database: DatabaseSettings, log?: DatabaseLog): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: false,
    ...(log ? { logger: log } : {}),
  };
  if (database.url) {
    return { ...common, url: database.url, ...(log ? { driver: observedPg((error) => log.connectionFailed(error)) } : {}) };
  }
  return { ...common, driver: pgliteDriver(database.dataDir, log && ((message) => log.progress(message))) };
}

/** The server a PostgreSQL URL points at, `host:port` (or its socket folder), without credentials. */
export function postgresServer(url: string): string {
  const { hostname, port, searchParams } = new URL(url);
  return hostname ? `${hostname}:${port || 5432}` : (searchParams.get('host') ?? '');
}
