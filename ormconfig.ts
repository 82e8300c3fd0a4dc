/** The TypeORM CLI's DataSource (`npm run migration:generate|run|revert`). */
export { default } from './src/database/data-source';
