import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceTextModule } from 'node:vm';
import { Client } from 'pg';
import { DatabaseSettings } from '../../../src/database/database.options';

/** Where global setup leaves a migrated embedded database to copy for each case. */
export const TEMPLATE_ENV = 'CHAT_TEST_PGLITE_TEMPLATE';

/** A database the e2e cases run against; `fresh()` gives an empty, migrated one. */
export interface TestDatabase {
  readonly name: string;
  fresh(): Promise<DatabaseSettings>;
  dispose(): void;
}

class EmbeddedTestDatabase implements TestDatabase {
  readonly name = 'embedded';
  private readonly dirs: string[] = [];

  async fresh(): Promise<DatabaseSettings> {
    // Without the flag the server's first import() of the embedded database fails after retries, with
    // a message that names the flag but not the command to run.
    if (typeof SourceTextModule !== 'function') {
      throw new Error(
        "the embedded database needs Node's --experimental-vm-modules inside jest: run one file or pattern " +
          'with `npm run test:one -- <file or pattern>` (or `NODE_OPTIONS=--experimental-vm-modules npx jest <file>`)',
      );
    }
    const template = process.env[TEMPLATE_ENV];
    if (!template) throw new Error(`${TEMPLATE_ENV} is unset: the jest globalSetup did not run`);
    const dataDir = mkdtempSync(join(tmpdir(), 'chat-case-'));
    cpSync(template, dataDir, { recursive: true });
    this.dirs.push(dataDir);
    return { dataDir };
  }

  dispose(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Set by global setup so that two test runs at once never share a database. */
export const RUN_ENV = 'CHAT_TEST_RUN';

/** The per-worker database that global setup created and migrated from TEST_DATABASE_URL. */
export function workerDatabaseUrl(base: string, worker: string, run = process.env[RUN_ENV] ?? '0'): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/^\//, '')}_${run}_w${worker}`;
  return url.toString();
}

export function databaseNameOf(url: string): string {
  return new URL(url).pathname.slice(1);
}

/** Runs `work` for each jest worker's database of this run, with an admin connection to `base`. */
export async function forEachWorkerDatabase(
  base: string,
  workers: number,
  work: (admin: Client, url: string, name: string) => Promise<void>,
): Promise<void> {
  const admin = new Client({ connectionString: base });
  await admin.connect();
  try {
    for (let worker = 1; worker <= Math.max(1, workers); worker++) {
      const url = workerDatabaseUrl(base, String(worker));
      await work(admin, url, databaseNameOf(url));
    }
  } finally {
    await admin.end();
  }
}

class PostgresTestDatabase implements TestDatabase {
  readonly name = 'postgres';
  private readonly url: string;

  constructor(base: string) {
    this.url = workerDatabaseUrl(base, process.env.JEST_WORKER_ID ?? '1');
  }

  async fresh(): Promise<DatabaseSettings> {
    const client = new Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query('TRUNCATE memberships, channels, users RESTART IDENTITY CASCADE');
    } finally {
      await client.end();
    }
    return { url: this.url, dataDir: './unused' };
  }

  dispose(): void {}
}

/** The embedded database always; PostgreSQL too when TEST_DATABASE_URL is set. */
export function testDatabases(): TestDatabase[] {
  const databases: TestDatabase[] = [new EmbeddedTestDatabase()];
  const url = process.env.TEST_DATABASE_URL;
  if (url) databases.push(new PostgresTestDatabase(url));
  return databases;
}
