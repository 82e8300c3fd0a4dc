import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../../../src/database/database.options';
import { TEMPLATE_ENV, workerDatabaseUrl } from './databases';

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

  const base = process.env.TEST_DATABASE_URL;
  if (!base) return;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  try {
    for (let worker = 1; worker <= Math.max(1, config.maxWorkers); worker++) {
      const name = new URL(workerDatabaseUrl(base, String(worker))).pathname.slice(1);
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${name}"`);
      await migrate(databaseOptions({ url: workerDatabaseUrl(base, String(worker)), dataDir: './unused' }));
    }
  } finally {
    await admin.end();
  }
}
