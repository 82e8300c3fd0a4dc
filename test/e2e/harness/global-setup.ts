import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../../../src/database/database.options';
import { databaseNameOf, RUN_ENV, TEMPLATE_ENV, workerDatabaseUrl } from './databases';

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
  const admin = new Client({ connectionString: base });
  await admin.connect();
  try {
    for (let worker = 1; worker <= Math.max(1, config.maxWorkers); worker++) {
      const url = workerDatabaseUrl(base, String(worker));
      await admin.query(`DROP DATABASE IF EXISTS "${databaseNameOf(url)}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${databaseNameOf(url)}"`);
      await migrate(databaseOptions({ url, dataDir: './unused' }));
    }
  } finally {
    await admin.end();
  }
}
