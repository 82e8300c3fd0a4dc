import { rmSync } from 'node:fs';
import { forEachWorkerDatabase, TEMPLATE_ENV } from './databases';
import armExitBackstop from './exit-backstop';

/** Removes the embedded template and this run's PostgreSQL databases. */
export default async function globalTeardown(config: { maxWorkers: number }): Promise<void> {
  armExitBackstop();
  const template = process.env[TEMPLATE_ENV];
  if (template) rmSync(template, { recursive: true, force: true });

  const base = process.env.TEST_DATABASE_URL;
  if (!base) return;
  await forEachWorkerDatabase(base, config.maxWorkers, async (admin, _url, name) => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}
