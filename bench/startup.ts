import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { BenchClient } from './bench-client';
import { ServerProcess, startChatServerProcess } from './server-process';
import { median } from './median';

/** The four ways a server starts: on a new or an existing database, embedded or PostgreSQL. */
export const STARTUP_CASES = [
  'embedded, new folder',
  'embedded, existing folder',
  'PostgreSQL, new database',
  'PostgreSQL, existing database',
] as const;
export type StartupCase = (typeof STARTUP_CASES)[number];

export interface StartupRun {
  readonly case: StartupCase;
  readonly run: number;
  /** From spawning `node dist/main.js` to its "listening on" line. */
  readonly listeningMs: number;
  /** From that line to the answer of the first command (a REGISTER), on a connection opened then. */
  readonly firstReplyMs: number;
  /** Resident memory a second after listening, one idle connection open. */
  readonly rssMb: number;
  /** The server's own account of its start ("ready" log line), in ms per part. */
  readonly parts: Readonly<Record<string, number>>;
}

export interface StartupOptions {
  readonly runs: number;
  /** Admin connection to PostgreSQL, where a database per run is created and dropped; unset: embedded only. */
  readonly adminUrl?: string;
  readonly nodeOptions?: readonly string[];
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The `ready` log line's parts: `{"msg":"ready in …","startup":{"modules":412,…}}`. */
function parts(output: string): Record<string, number> {
  for (const line of output.split('\n')) {
    if (!line.includes('"startup"')) continue;
    try {
      return (JSON.parse(line) as { startup: Record<string, number> }).startup;
    } catch {
      // Not a whole JSON line.
    }
  }
  return {};
}

async function measure(
  startupCase: StartupCase,
  run: number,
  dir: string,
  lines: string[],
  options: StartupOptions,
): Promise<StartupRun> {
  const started = performance.now();
  let server: ServerProcess | undefined;
  try {
    server = await startChatServerProcess(
      dir,
      ['host: 127.0.0.1', 'bcryptCost: 4', 'logLevel: info', 'logFormat: json', ...lines],
      options.nodeOptions,
    );
    const listening = performance.now();
    const client = await BenchClient.connect('first', server.port);
    try {
      await client.exchange([`REGISTER first${STARTUP_CASES.indexOf(startupCase)}r${run} pw`], ['RESULT REGISTER 1']);
      const firstReply = performance.now();
      await settle(1000);
      return {
        case: startupCase,
        run,
        listeningMs: Math.round(listening - started),
        firstReplyMs: Math.round((firstReply - listening) * 10) / 10,
        rssMb: Math.round(server.rssKb() / 1024),
        parts: parts(server.output()),
      };
    } finally {
      client.close();
    }
  } finally {
    await server?.stop();
  }
}

/**
 * Starts the server `runs` times in each case, the cases interleaved. An existing database is the
 * one the run's first start created; a new embedded folder is copied from the installation's
 * template, which the first start on this installation made.
 */
export async function startup(options: StartupOptions, scratch: string): Promise<StartupRun[]> {
  const results: StartupRun[] = [];
  const admin = options.adminUrl ? new Client({ connectionString: options.adminUrl }) : undefined;
  await admin?.connect();
  try {
    for (let run = 1; run <= options.runs; run++) {
      const dir = mkdtempSync(join(scratch, `startup-${run}-`));
      const embedded = [`database:\n  dataDir: ${join(dir, 'data')}`];
      results.push(await measure('embedded, new folder', run, dir, embedded, options));
      results.push(await measure('embedded, existing folder', run, dir, embedded, options));
      if (!admin || !options.adminUrl) continue;
      const name = `chat_bench_startup_${process.pid}_${run}`;
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
      try {
        const url = new URL(options.adminUrl);
        url.pathname = `/${name}`;
        const postgres = [`database:\n  url: ${url.toString()}`];
        results.push(await measure('PostgreSQL, new database', run, dir, postgres, options));
        results.push(await measure('PostgreSQL, existing database', run, dir, postgres, options));
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
    }
  } finally {
    await admin?.end();
  }
  return results;
}

export interface StartupSummary {
  readonly case: StartupCase;
  readonly runs: number;
  /** Medians across the runs, and the range of listeningMs. */
  readonly listeningMs: number;
  readonly listeningRangeMs: readonly [number, number];
  readonly firstReplyMs: number;
  readonly rssMb: number;
  readonly parts: Readonly<Record<string, number>>;
}

export function summarizeStartup(runs: readonly StartupRun[]): StartupSummary[] {
  return STARTUP_CASES.flatMap((startupCase) => {
    const of = runs.filter((run) => run.case === startupCase);
    if (of.length === 0) return [];
    const listening = of.map((run) => run.listeningMs);
    const partNames = [...new Set(of.flatMap((run) => Object.keys(run.parts)))];
    const parts = Object.fromEntries(
      partNames.map((name) => [name, median(of.map((run) => run.parts[name]).filter((value) => value !== undefined))]),
    );
    return [
      {
        case: startupCase,
        runs: of.length,
        listeningMs: median(listening),
        listeningRangeMs: [Math.min(...listening), Math.max(...listening)] as const,
        firstReplyMs: median(of.map((run) => run.firstReplyMs)),
        rssMb: median(of.map((run) => run.rssMb)),
        parts,
      },
    ];
  });
}

export function printStartup(summary: readonly StartupSummary[]): void {
  console.log(
    '\nstart-up: launch to listening (median, range), first reply after it, RSS a second later, and the parts the server names',
  );
  for (const row of summary) {
    const parts = Object.entries(row.parts)
      .map(([name, ms]) => `${name} ${ms}`)
      .join(', ');
    console.log(
      `  ${row.case.padEnd(30)} ${String(row.listeningMs).padStart(5)} ms (${row.listeningRangeMs[0]}–${row.listeningRangeMs[1]})` +
        `  first reply ${row.firstReplyMs} ms  RSS ${row.rssMb} MB  [${parts}]`,
    );
  }
}
