import 'reflect-metadata';
import { DEFAULT_DATABASE_TIMEOUTS } from '../config/settings';
import { databaseOptions } from './database.options';
import { MigrationLockingDataSource } from './migrate-under-lock';

/**
 * The DataSource of the TypeORM CLI: the server's options, on DATABASE_URL when it is set and on
 * the embedded database in CHAT_DATA_DIR otherwise. `ormconfig.ts` exports it for
 * `npm run migration:*`; in the container image it is `dist/database/data-source.js`. On
 * PostgreSQL it runs and reverts migrations under the lock the servers take at start; connecting
 * is bounded as the server's is, statements are not (a migration may take long).
 */
export default new MigrationLockingDataSource({
  ...databaseOptions({
    url: process.env.DATABASE_URL || undefined,
    dataDir: process.env.CHAT_DATA_DIR || './data',
    templateDir: process.env.CHAT_TEMPLATE_DIR || undefined,
    connectTimeoutMs: DEFAULT_DATABASE_TIMEOUTS.connectTimeoutMs,
  }),
  migrationsRun: false,
});
