import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseOptions } from './database.options';

/**
 * The DataSource of the TypeORM CLI: the server's options, on DATABASE_URL when it is set and on
 * the embedded database in CHAT_DATA_DIR otherwise. `ormconfig.ts` exports it for
 * `npm run migration:*`; in the container image it is `dist/database/data-source.js`.
 */
export default new DataSource({
  ...databaseOptions({ url: process.env.DATABASE_URL || undefined, dataDir: process.env.CHAT_DATA_DIR || './data' }),
  migrationsRun: false,
});
