import 'reflect-metadata';
import { databaseOptions } from './database.options';
import { MigrationLockingDataSource } from './migrate-under-lock';

/**
 * The DataSource of the TypeORM CLI: the server's options, on DATABASE_URL when it is set and on
 * the embedded database in CHAT_DATA_DIR otherwise. `ormconfig.ts` exports it for
 * `npm run migration:*`; in the container image it is `dist/database/data-source.js`. On
 * PostgreSQL it runs and reverts migrations under the lock the servers take at start.
 */
export default new MigrationLockingDataSource({
  ...databaseOptions({ url: process.env.DATABASE_URL || undefined, dataDir: process.env.CHAT_DATA_DIR || './data' }),
  migrationsRun: false,
});
