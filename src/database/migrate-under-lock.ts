import { DataSource, DataSourceOptions, Migration, MigrationExecutor, QueryRunner } from 'typeorm';
import { startupTimes } from '../startup-times';
import { DatabaseLog } from './database-log';

/**
 * The PostgreSQL advisory lock that migrations run under: "chatmigr" in ASCII read as one 64-bit
 * key, 0x636861746d696772 = 7163082360012498802 (in `pg_locks`, classid 1667785076 and objid
 * 1835622258). Advisory locks belong to one database, so servers on different databases never
 * wait for each other.
 */
export const MIGRATION_LOCK_KEY = 0x636861746d696772n;

const WAITING = `waiting for another instance's migrations (PostgreSQL advisory lock ${MIGRATION_LOCK_KEY})`;

type PostgresOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

type TransactionMode = 'all' | 'each' | 'none';

/** What `DataSource.runMigrations` and `undoLastMigration` take. */
export interface MigrationRun {
  readonly transaction?: TransactionMode;
  readonly fake?: boolean;
}

type Waiting = (message: string) => void;

/**
 * TypeORM takes no lock around migrations: servers starting together on one empty database would
 * each create the tables, and all but one fail. Here one connection takes the migration lock, then
 * reads which migrations are pending and applies them, all on that connection; the others wait on
 * the lock (saying so once) and then find nothing pending. The lock is a session lock, so it spans
 * the transaction of each migration. After a failure the caller destroys the DataSource, which ends
 * the session and so releases the lock even if unlocking failed.
 */
async function underMigrationLock<T>(
  dataSource: DataSource,
  waiting: Waiting,
  work: (queryRunner: QueryRunner) => Promise<T>,
): Promise<T> {
  const queryRunner = dataSource.createQueryRunner('master');
  try {
    const [{ locked }] = (await queryRunner.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY])) as [
      { locked: boolean },
    ];
    if (!locked) {
      waiting(WAITING);
      await queryRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    }
    const result = await work(queryRunner).catch(async (error: unknown) => {
      await unlock(queryRunner).catch(() => undefined);
      throw error;
    });
    await unlock(queryRunner);
    return result;
  } finally {
    await queryRunner.release();
  }
}

async function unlock(queryRunner: QueryRunner): Promise<void> {
  await queryRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
}

function executor(
  dataSource: DataSource,
  queryRunner: QueryRunner,
  run: MigrationRun,
  transaction: TransactionMode,
): MigrationExecutor {
  const migrations = new MigrationExecutor(dataSource, queryRunner);
  migrations.transaction = run.transaction ?? transaction;
  migrations.fake = run.fake ?? false;
  return migrations;
}

/** Applies the pending migrations under the migration lock, in the DataSource's transaction mode unless `run` gives one. */
export function migrateUnderLock(dataSource: DataSource, run: MigrationRun, waiting: Waiting): Promise<Migration[]> {
  const transaction = dataSource.options.migrationsTransactionMode ?? 'all';
  return underMigrationLock(dataSource, waiting, (queryRunner) =>
    executor(dataSource, queryRunner, run, transaction).executePendingMigrations(),
  );
}

/** Reverts the last migration under the migration lock. */
export function revertUnderLock(dataSource: DataSource, run: MigrationRun, waiting: Waiting): Promise<void> {
  return underMigrationLock(dataSource, waiting, (queryRunner) =>
    executor(dataSource, queryRunner, run, 'all').undoLastMigration(),
  );
}

/** A PostgreSQL server that other processes may share, as opposed to the embedded database (no URL). */
function sharedServer(options: DataSourceOptions): options is PostgresOptions {
  return options.type === 'postgres' && options.url !== undefined;
}

/**
 * Opens the server's database and brings its schema up to date. On PostgreSQL the pending
 * migrations run under the migration lock first, without the statement timeout. The embedded database runs them
 * as it opens (`migrationsRun`): its folder lock (data-dir-lock.ts) already keeps every other
 * process out, and it has a single connection.
 */
export async function openDataSource(options: DataSourceOptions, log: DatabaseLog): Promise<DataSource> {
  const started = performance.now();
  if (!sharedServer(options) || !options.migrationsRun) {
    const dataSource = await new DataSource(options).initialize();
    // The embedded database opened in its thread first, as its own part.
    startupTimes.record('schema', Math.max(started, startupTimes.endOf('database') ?? started));
    return dataSource;
  }
  // Waiting for another instance's migrations, or a migration that rewrites a large table, may
  // take longer than a statement is allowed when serving: migrations run on a pool of their own.
  const migrating = await new DataSource({ ...options, migrationsRun: false, extra: {}, poolSize: 1 }).initialize();
  try {
    await migrateUnderLock(migrating, {}, (message) => log.progress(message));
  } finally {
    await migrating.destroy();
  }
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
  startupTimes.record('schema', started);
  return dataSource;
}

/**
 * The TypeORM CLI's DataSource: on PostgreSQL, `migration:run` and `migration:revert` take the
 * migration lock too, so they never run alongside a server's start-up migrations.
 */
export class MigrationLockingDataSource extends DataSource {
  override runMigrations(run: MigrationRun = {}): Promise<Migration[]> {
    if (!sharedServer(this.options)) return super.runMigrations(run);
    return migrateUnderLock(this, run, (message) => this.waiting(message));
  }

  override undoLastMigration(run: MigrationRun = {}): Promise<void> {
    if (!sharedServer(this.options)) return super.undoLastMigration(run);
    return revertUnderLock(this, run, (message) => this.waiting(message));
  }

  /** The CLI prints schema-build messages, the migrations applied among them. */
  private waiting(message: string): void {
    this.logger.logSchemaBuild(message);
  }
}
