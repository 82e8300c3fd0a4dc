import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../../../src/database/database.options';
import { forEachWorkerDatabase, RUN_ENV, TEMPLATE_ENV } from './databases';

async function migrate(options: ReturnType<typeof databaseOptions>): Promise<void> {
  const dataSource = new DataSource(options);
  await dataSource.initialize();
  await dataSource.destroy();
}

/** One migrated embedded database to copy per case, and one PostgreSQL database per jest worker. */
export default async function globalSetup(config: { maxWorkers: number }): Promise<void> {
  const template = mkdtempSync(join(tmpdir(), 'chat-template-'));
  await migrate(databaseOptions({ dataDir: template }));
  process.env[TEMPLATE_ENV] = template;
  process.env[RUN_ENV] = String(process.pid);

  const base = process.env.TEST_DATABASE_URL;
  if (!base) return;
  await forEachWorkerDatabase(base, config.maxWorkers, async (admin, url, name) => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
    await migrate(databaseOptions({ url, dataDir: './unused' }));
  });
}
