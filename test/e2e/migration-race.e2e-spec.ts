import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { MIGRATIONS } from '../../src/database/migrations';
import { databaseNameOf } from './harness/databases';
import { LineClient } from './harness/line-client';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'main.js');
const TYPEORM_CLI = join(ROOT, 'node_modules', 'typeorm', 'cli.js');
const CLI_DATA_SOURCE = join(ROOT, 'dist', 'database', 'data-source.js');

/** The migration lock's key as README documents it: "chatmigr" in ASCII, 0x636861746d696772. */
const LOCK_KEY = '7163082360012498802';
const WAITING = /^waiting for another instance's migrations/;
const LISTENING = /^listening on [\d.]+:(\d+)$/;
const MIGRATION_NAMES = MIGRATIONS.map((migration) => migration.name);
const START_TIMEOUT_MS = 45000;

interface Launched {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

function launch(args: string[], env: NodeJS.ProcessEnv): Launched {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, stdout: () => out, stderr: () => err };
}

function startServer(url: string): Launched {
  return launch([MAIN], {
    HOST: '127.0.0.1',
    PORT: '0',
    HTTP_PORT: '0',
    BCRYPT_COST: '4',
    LOG_FORMAT: 'json',
    DATABASE_URL: url,
  });
}

interface LogEntry {
  readonly level: number;
  readonly msg: string;
}

function entries(server: Launched): LogEntry[] {
  return server
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogEntry);
}

/** Waits until the server's log holds a line whose message matches `pattern`. */
async function logged(server: Launched, pattern: RegExp, timeoutMs = START_TIMEOUT_MS): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const entry of entries(server)) {
      const match = pattern.exec(entry.msg);
      if (match) return match;
    }
    if (server.child.exitCode !== null) {
      throw new Error(
        `the server exited (${server.child.exitCode}) before logging ${pattern}:\n${server.stderr()}${server.stdout()}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(`no log line matched ${pattern} within ${timeoutMs} ms (is the database reachable?):\n${server.stdout()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function stop(server: Launched): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  await server.exited;
}

async function registers(port: number, user: string): Promise<void> {
  const client = await LineClient.connect(port, user);
  try {
    client.send(`REGISTER ${user} pw`);
    await client.expectLine('RESULT REGISTER 1', 10000);
  } finally {
    client.close();
  }
}

async function connected(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Each row of the `migrations` table, oldest first. */
async function appliedMigrations(url: string): Promise<string[]> {
  const client = await connected(url);
  try {
    const result = await client.query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
    return result.rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

const postgresUrl = process.env.TEST_DATABASE_URL;

// TypeORM takes no lock around migrations: servers starting together on an empty database would
// each create the tables, and all but one fail.
(postgresUrl ? describe : describe.skip)(
  'migrations when servers start together [postgres; skipped without TEST_DATABASE_URL]',
  () => {
    let admin: Client;
    const created: string[] = [];

    beforeAll(async () => {
      admin = await connected(postgresUrl as string);
    });

    afterAll(async () => {
      try {
        for (const name of created) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    });

    /** A brand-new database with no tables, dropped after the file. */
    async function emptyDatabase(purpose: string): Promise<string> {
      const base = postgresUrl as string;
      const name = `${databaseNameOf(base)}_${purpose}_${process.pid}`;
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${name}"`);
      created.push(name);
      const url = new URL(base);
      url.pathname = `/${name}`;
      return url.toString();
    }

    /** Waits until `count` sessions of `database` are blocked on a lock. */
    async function blocked(database: string, count: number, servers: Launched[]): Promise<void> {
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        const { rows } = await admin.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
          [database],
        );
        if (rows[0].waiting >= count) return;
        const exited = servers.find((server) => server.child.exitCode !== null);
        if (exited) throw new Error(`a server exited before reaching its migrations:\n${exited.stderr()}${exited.stdout()}`);
        if (Date.now() > deadline) {
          throw new Error(`only ${rows[0].waiting} of ${count} servers reached their migrations within ${START_TIMEOUT_MS} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }

    test(
      'four servers started at once on an empty database all serve, and each migration is applied once',
      async () => {
        const url = await emptyDatabase('race');
        // A transaction creating the migrations table, not yet committed, holds every server at its
        // first step of migrating (or on the migration lock), so that all four go on at one moment.
        const gate = await connected(url);
        await gate.query('BEGIN');
        await gate.query('CREATE TABLE migrations (id integer)');
        const servers = [1, 2, 3, 4].map(() => startServer(url));
        try {
          await blocked(databaseNameOf(url), servers.length, servers);
          await gate.query('ROLLBACK');
          const ports = await Promise.all(servers.map(async (server) => Number((await logged(server, LISTENING))[1])));
          await Promise.all(ports.map((port, index) => registers(port, `user${index + 1}`)));
          const errors = servers.flatMap((server) => entries(server).filter((entry) => entry.level >= 50));
          expect(errors).toEqual([]);
          expect(await appliedMigrations(url)).toEqual(MIGRATION_NAMES);
        } finally {
          await gate.end();
          await Promise.all(servers.map(stop));
        }
      },
      2 * START_TIMEOUT_MS,
    );

    describe('while another session holds the migration lock', () => {
      let url: string;
      let holder: Client;

      beforeEach(async () => {
        url = await emptyDatabase(`held_${created.length}`);
        holder = await connected(url);
        await holder.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
      });

      afterEach(() => holder.end());

      const migrationsTable = async () =>
        (await holder.query<{ found: string | null }>("SELECT to_regclass('migrations')::text AS found")).rows[0].found;

      test(
        'a starting server waits on the connection that would migrate, says so once, and migrates when the lock is released',
        async () => {
          const server = startServer(url);
          try {
            const first = await logged(server, /^(waiting for another instance's migrations|listening on )/);
            expect(first[1]).toBe("waiting for another instance's migrations");
            // The migrations table is created under the lock, so nothing has touched the schema yet.
            expect(await migrationsTable()).toBeNull();
            expect(entries(server).filter((entry) => LISTENING.test(entry.msg))).toEqual([]);

            await holder.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
            const port = Number((await logged(server, LISTENING))[1]);
            await registers(port, 'alice');
            expect(await appliedMigrations(url)).toEqual(MIGRATION_NAMES);
            expect(entries(server).filter((entry) => WAITING.test(entry.msg))).toHaveLength(1);
            // Released after migrating: another session takes it at once.
            expect(
              (await holder.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LOCK_KEY])).rows[0].locked,
            ).toBe(true);
          } finally {
            await stop(server);
          }
        },
        2 * START_TIMEOUT_MS,
      );

      test(
        'the TypeORM CLI (migration:run) waits for the same lock',
        async () => {
          const cli = launch([TYPEORM_CLI, 'migration:run', '-d', CLI_DATA_SOURCE], { DATABASE_URL: url });
          try {
            const deadline = Date.now() + START_TIMEOUT_MS;
            while (!/waiting for another instance's migrations/.test(cli.stdout())) {
              if (cli.child.exitCode !== null || Date.now() > deadline) {
                throw new Error(`the CLI did not say it waits for the lock:\n${cli.stdout()}${cli.stderr()}`);
              }
              await new Promise((resolve) => setTimeout(resolve, 25));
            }
            expect(await migrationsTable()).toBeNull();

            await holder.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
            expect(await cli.exited).toBe(0);
            expect(await appliedMigrations(url)).toEqual(MIGRATION_NAMES);
          } finally {
            await stop(cli);
          }
        },
        2 * START_TIMEOUT_MS,
      );
    });
  },
);
