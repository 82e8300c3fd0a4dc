import { join } from 'node:path';
import { Client } from 'pg';
import { ServerProcess, startChatServerProcess } from './server-process';

/** The databases a measured chat server can run on. */
export const BENCH_DATABASES = ['embedded', 'postgres'] as const;
export type BenchDatabase = (typeof BENCH_DATABASES)[number];

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Where databases for PostgreSQL runs are created: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local server. */
export function adminUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || DEFAULT_ADMIN_URL;
}

let created = 0;

/**
 * A chat server on a database of its own, fresh for this start: a folder in `dir` for the
 * embedded database, a new database on the PostgreSQL server for `postgres`, dropped when the
 * server stops. `lines` are the rest of its YAML configuration.
 */
export async function startBenchServer(
  database: BenchDatabase,
  dir: string,
  lines: readonly string[],
  nodeOptions: readonly string[] = [],
  port = 0,
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  if (database === 'embedded') {
    return startChatServerProcess(dir, [`database:\n  dataDir: ${join(dir, 'data')}`, ...lines], nodeOptions, port, env);
  }
  const name = `chat_bench_${process.pid}_${++created}`;
  const admin = adminUrl();
  await adminQuery(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const drop = () => adminQuery(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  let server: ServerProcess;
  try {
    server = await startChatServerProcess(dir, [`database:\n  url: ${url.toString()}`, ...lines], nodeOptions, port, env);
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    ...server,
    stop: async () => {
      try {
        await server.stop();
      } finally {
        await drop();
      }
    },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Fails with what to do when PostgreSQL runs are asked for and its server cannot be reached. */
export async function checkPostgres(url: string): Promise<void> {
  try {
    await adminQuery(url, 'SELECT 1');
  } catch (error) {
    const server = new URL(url);
    throw new Error(
      `PostgreSQL at ${server.host} cannot be reached (${(error as Error).message}): start it, point BENCH_DATABASE_URL at one, or pass --databases embedded`,
      { cause: error },
    );
  }
}
