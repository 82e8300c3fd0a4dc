import { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { DatabaseLog } from './database-log';
import { MIGRATIONS } from './migrations';
import { pgliteDriver } from './pglite-driver';
import { pgThreadDriver } from './pg-thread';

export interface DatabaseSettings {
  /** PostgreSQL connection string; unset means the embedded database. */
  readonly url?: string;
  /** Where the embedded database keeps its files. */
  readonly dataDir: string;
  /** Where new embedded databases are copied from; unset, the installation's `node_modules/.cache`. */
  readonly templateDir?: string;
  /** How long opening a PostgreSQL connection (or waiting for a free one) may take; unset, no bound. */
  readonly connectTimeoutMs?: number;
  /** How long one PostgreSQL statement may run; unset, no bound. */
  readonly statementTimeoutMs?: number;
}

/**
 * How much longer than the statement timeout the client waits for an answer before it drops the
 * connection: a server that is up cancels the statement itself and answers; one that does not
 * answer by then is not there (packets dropped).
 */
export const ANSWER_MARGIN_MS = 1000;

/**
 * The one description of the database, used by the server and by the TypeORM CLI (ormconfig.ts).
 * The schema comes only from migrations, which run when the server starts (on PostgreSQL under a
 * lock, by openDataSource in migrate-under-lock.ts). With `log`, failed queries and connections
 * are counted and logged there.
 *
 * On PostgreSQL, `connectTimeoutMs` bounds each connection and `statementTimeoutMs` each statement,
 * on the server (`statement_timeout`) and, a second later, on the client (`query_timeout`), which
 * also holds when the server's packets are dropped. The embedded database has no network to wait
 * on, and PGlite runs a statement to its end in its thread: neither applies there.
 *
 * Either database runs off the main thread: PGlite in the embedded database's thread, `pg` (its
 * pools, sockets and wire protocol) in the PostgreSQL driver's thread (`pg-thread.ts`).
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
    const connectionFailed = log && ((error: Error) => log.connectionFailed(error));
    return {
      ...common,
      url: database.url,
      driver: pgThreadDriver({ server: postgresServer(database.url), connectionFailed }),
      ...(database.connectTimeoutMs === undefined ? {} : { connectTimeoutMS: database.connectTimeoutMs }),
      extra: statementBounds(database.statementTimeoutMs),
    };
  }
  const progress = log && ((message: string) => log.progress(message));
  return { ...common, driver: pgliteDriver(database.dataDir, progress, database.templateDir) };
}

/** The pool's `extra` options: each statement bounded on the server and, a little later, on the client. */
export function statementBounds(statementTimeoutMs: number | undefined): Record<string, number> {
  if (statementTimeoutMs === undefined) return {};
  return { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + ANSWER_MARGIN_MS };
}

/** The server a PostgreSQL URL points at, `host:port` (or its socket folder), without credentials. */
export function postgresServer(url: string): string {
  const { hostname, port, searchParams } = new URL(url);
  return hostname ? `${hostname}:${port || 5432}` : (searchParams.get('host') ?? '');
}
