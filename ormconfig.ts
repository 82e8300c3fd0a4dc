import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseOptions } from './src/database/database.options';

/**
 * The DataSource of the TypeORM CLI (`npm run migration:*`): the same options as the server,
 * on DATABASE_URL when it is set and on the embedded database in CHAT_DATA_DIR otherwise.
 */
export default new DataSource({
  ...databaseOptions({ url: process.env.DATABASE_URL || undefined, dataDir: process.env.CHAT_DATA_DIR || './data' }),
  migrationsRun: false,
});
