import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { databaseNameOf, TEMPLATE_ENV, workerDatabaseUrl } from './databases';

/** Removes the embedded template and this run's PostgreSQL databases. */
export default async function globalTeardown(config: { maxWorkers: number }): Promise<void> {
  const template = process.env[TEMPLATE_ENV];
  if (template) rmSync(template, { recursive: true, force: true });

  const base = process.env.TEST_DATABASE_URL;
  if (!base) return;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  try {
    for (let worker = 1; worker <= Math.max(1, config.maxWorkers); worker++) {
      await admin.query(`DROP DATABASE IF EXISTS "${databaseNameOf(workerDatabaseUrl(base, String(worker)))}" WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}
