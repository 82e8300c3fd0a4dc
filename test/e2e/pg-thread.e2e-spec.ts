import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import { databaseOptions } from '../../src/database/database.options';
import { testDatabases } from './harness/databases';

const ROOT = join(__dirname, '..', '..');

/** A data source on `url` through the driver's thread, named so that its connections can be found. */
function dataSource(url: string, applicationName: string): DataSource {
  const options = databaseOptions({ url, dataDir: './unused' }) as Extract<DataSourceOptions, { type: 'postgres' }>;
  return new DataSource({ ...options, migrationsRun: false, applicationName });
}

/** Runs a script with the compiled server's modules in a child process; resolves with its exit code and output. */
function runScript(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

for (const database of testDatabases().filter(({ name }) => name === 'postgres')) {
  describe("PostgreSQL's driver in its own thread [postgres]", () => {
    let url: string;
    let source: DataSource;
    const applicationName = `chat-pg-thread-${process.pid}`;

    beforeAll(async () => {
      url = (await database.fresh()).url as string;
      source = dataSource(url, applicationName);
      await source.initialize();
    });

    afterAll(async () => {
      if (source?.isInitialized) {
        await source.query('DROP TABLE IF EXISTS thread_notes');
        await source.destroy();
      }
      database.dispose();
    });

    test('the main thread never loads pg, and a process whose pools have ended exits by itself', async () => {
      const script = `
        const { DataSource } = require('typeorm');
        const { databaseOptions } = require('./dist/database/database.options');
        (async () => {
          const source = new DataSource({ ...databaseOptions({ url: process.env.URL, dataDir: './unused' }), migrationsRun: false });
          await source.initialize();
          const [row] = await source.query('SELECT 40 + $1::int AS answer', [2]);
          const pgHere = Object.keys(require.cache).some((file) => /node_modules[\\\\/]pg[\\\\/]/.test(file));
          console.log(JSON.stringify({ answer: row.answer, pgHere }));
          await source.destroy();
        })().catch((error) => { console.error(error); process.exitCode = 1; });`;
      const { code, output } = await runScript(script, { URL: url }, 20_000);
      expect(output.trim()).toBe(JSON.stringify({ answer: 42, pgHere: false }));
      expect(code).toBe(0);
    });

    test('a pool that a failed start left open does not keep the process from exiting', async () => {
      const missing = new URL(url);
      missing.pathname = `/no_such_database_${process.pid}`;
      const script = `
        const { DataSource } = require('typeorm');
        const { databaseOptions } = require('./dist/database/database.options');
        const source = new DataSource({ ...databaseOptions({ url: process.env.URL, dataDir: './unused' }), migrationsRun: false });
        source.initialize().then(
          () => console.log('opened'),
          (error) => { console.log('failed: ' + error.code); process.exitCode = 3; },
        );`;
      const { code, output } = await runScript(script, { URL: missing.toString() }, 20_000);
      expect(output.trim()).toBe('failed: 3D000');
      expect(code).toBe(3);
    });

    test("a transaction's statements stay on its connection, unseen by another until it commits", async () => {
      await source.query('CREATE TABLE IF NOT EXISTS thread_notes (id serial PRIMARY KEY, body text UNIQUE NOT NULL)');
      await source.query('TRUNCATE thread_notes');
      const writer = source.createQueryRunner();
      const reader = source.createQueryRunner();
      try {
        await writer.startTransaction();
        await writer.query('INSERT INTO thread_notes (body) VALUES ($1)', ['kept']);
        expect(await reader.query('SELECT count(*)::int AS n FROM thread_notes')).toEqual([{ n: 0 }]);
        expect(await writer.query('SELECT count(*)::int AS n FROM thread_notes')).toEqual([{ n: 1 }]);
        await writer.commitTransaction();
        expect(await reader.query('SELECT count(*)::int AS n FROM thread_notes')).toEqual([{ n: 1 }]);

        await writer.startTransaction();
        await writer.query('INSERT INTO thread_notes (body) VALUES ($1)', ['dropped']);
        await writer.rollbackTransaction();
        expect(await reader.query('SELECT body FROM thread_notes ORDER BY id')).toEqual([{ body: 'kept' }]);
      } finally {
        await writer.release();
        await reader.release();
      }
    });

    test("errors keep PostgreSQL's fields, and values cross the thread as pg gives them", async () => {
      await source.query('CREATE TABLE IF NOT EXISTS thread_notes (id serial PRIMARY KEY, body text UNIQUE NOT NULL)');
      await source.query('TRUNCATE thread_notes');
      await source.query('INSERT INTO thread_notes (body) VALUES ($1)', ['once']);
      const failure = (await source
        .query('INSERT INTO thread_notes (body) VALUES ($1)', ['once'])
        .catch((error: unknown) => error)) as Record<string, unknown>;
      expect(failure).toBeInstanceOf(Error);
      expect(failure.code).toBe('23505');
      expect(failure.constraint).toBe('thread_notes_body_key');
      expect(failure.detail).toBe('Key (body)=(once) already exists.');

      const at = new Date('2026-12-04T10:20:30.456Z');
      const [row] = await source.query<Array<Record<string, unknown>>>(
        'SELECT $1::timestamptz AS at, $2::bytea AS bytes, $3::jsonb AS doc, $4::text AS nothing, $5::boolean AS yes, $6::bigint AS big',
        [at, Buffer.from([0, 1, 255]), JSON.stringify({ a: [1, 'b'] }), null, true, '9007199254740993'],
      );
      expect(row.at).toEqual(at);
      expect(Buffer.from(row.bytes as Uint8Array)).toEqual(Buffer.from([0, 1, 255]));
      expect(row.doc).toEqual({ a: [1, 'b'] });
      expect(row.nothing).toBeNull();
      expect(row.yes).toBe(true);
      expect(row.big).toBe('9007199254740993');
    });

    test('a connection the server ends while idle is replaced, and the next statement runs', async () => {
      await source.query('SELECT 1');
      const admin = new Client({ connectionString: url });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ ended: boolean }>(
          'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        );
        expect(rows.length).toBeGreaterThan(0);
        expect(rows.every((row) => row.ended)).toBe(true);
      } finally {
        await admin.end();
      }
      // The pool hears of it on its idle connection and drops it; the statement opens a new one.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expect(source.query('SELECT 7 AS seven')).resolves.toEqual([{ seven: 7 }]);
    });
  });
}
