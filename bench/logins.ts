import { compare, genSaltSync, hash } from 'bcrypt';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { hashSlots, threadPoolSize } from '../src/config/thread-pool';
import { parseMetrics } from '../test/e2e/harness/http-probe';
import { BenchClient, connectMany } from './bench-client';

export interface LoginsResult {
  readonly bcryptCost: number;
  /** Users that each sent REGISTER and LOGIN at once. */
  readonly users: number;
  /** Users registered and logged in per second, from the first line sent to the last reply. */
  readonly usersPerSecond: number;
  /** bcrypt alone in this process: one hash and one compare per user, `parallel` users at a time (see `bcryptAlone`). */
  readonly bcryptAlonePerSecond: number;
  readonly parallel: number;
  readonly ratio: number;
  /** The server's event-loop lag during the storm (prom-client's histogram, reset by the scrape before). */
  readonly eventLoopLagMs: { readonly p99: number; readonly max: number };
}

/**
 * Hashes at once for bcrypt alone: as many as the server hands libuv (`hashSlots()`: every thread
 * of the pool and one more per core waiting in libuv's queue), bcrypt's raw rate on this machine.
 * Fewer leave a core idle while a finished hash's successor is being started: on two cores, two at
 * once did 10–17 % fewer hashes a second than four, and four 1–2 % fewer than six.
 */
export const FLOOR_PARALLELISM = hashSlots(availableParallelism(), threadPoolSize());

const PASSWORD = 'pw';
const EXPECTED = ['RESULT REGISTER 1', 'RESULT LOGIN 1'];

async function scrape(metricsUrl: string): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(metricsUrl)).text());
}

/**
 * What bcrypt alone reaches here for the work of one user (the hash of its REGISTER, then the
 * compare of its LOGIN), `parallel` users at a time for about `seconds`: users per second. The
 * salt is made synchronously, so the figure is bcrypt's own work and nothing else.
 */
export async function bcryptAlone(cost: number, parallel: number, seconds: number): Promise<number> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (performance.now() < deadline) {
        const stored = await hash(PASSWORD, genSaltSync(cost));
        await compare(PASSWORD, stored);
        done++;
      }
    }),
  );
  return (done / (performance.now() - started)) * 1000;
}

/**
 * Sends every client's `REGISTER <name> pw` and `LOGIN <name> pw` in one write, all at once, and
 * resolves with the milliseconds until the last of them has both its replies.
 */
function storm(clients: readonly BenchClient[], timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let left = clients.length;
    const started = performance.now();
    const timer = setTimeout(
      () => reject(new Error(`${left} of ${clients.length} users not registered and logged in within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    for (const client of clients) {
      let received = 0;
      client.onLine = (line) => {
        const want = EXPECTED[received++];
        if (line !== want) return fail(new Error(`${client.name}: expected "${want}", got "${line}"`));
        if (received === EXPECTED.length && --left === 0) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      };
    }
    for (const client of clients) client.send(`REGISTER ${client.name} ${PASSWORD}\nLOGIN ${client.name} ${PASSWORD}\n`);
  });
}

export interface LoginsOptions {
  readonly port: number;
  readonly host: string;
  readonly metricsUrl: string;
  readonly bcryptCost: number;
  /** Users in the storm; unset, as many as bcrypt alone does in `seconds`. */
  readonly users?: number;
  readonly seconds: number;
  /** Hashes at once for bcrypt alone (`FLOOR_PARALLELISM`). */
  readonly parallel: number;
  readonly tag: string;
}

/**
 * A login storm: `users` connections each send REGISTER and LOGIN at once, against bcrypt alone
 * doing the same work (measured just before and just after the storm, and averaged, so a machine
 * that gets busier or quieter meanwhile weighs on both sides). The server's event-loop lag is read
 * from its /metrics around the storm.
 */
export async function measureLogins(options: LoginsOptions): Promise<LoginsResult> {
  const { bcryptCost, parallel, seconds } = options;
  const before = await bcryptAlone(bcryptCost, parallel, Math.min(seconds, 2));
  const users = options.users ?? Math.max(20, Math.round(before * seconds));
  const clients = await connectMany(`${options.tag}l`, users, options.port, options.host);
  try {
    await scrape(options.metricsUrl);
    const elapsedMs = await storm(clients, 60_000 + (users / before) * 1000 * 10);
    const metrics = await scrape(options.metricsUrl);
    const lagMs = (name: string) => Math.round((metrics.get(name) ?? NaN) * 1e5) / 100;
    for (const client of clients) client.close();
    const after = await bcryptAlone(bcryptCost, parallel, Math.min(seconds, 2));
    const usersPerSecond = (users / elapsedMs) * 1000;
    const bcryptAlonePerSecond = (before + after) / 2;
    return {
      bcryptCost,
      users,
      usersPerSecond: Math.round(usersPerSecond * 10) / 10,
      bcryptAlonePerSecond: Math.round(bcryptAlonePerSecond * 10) / 10,
      parallel,
      ratio: Math.round((usersPerSecond / bcryptAlonePerSecond) * 100) / 100,
      eventLoopLagMs: { p99: lagMs('nodejs_eventloop_lag_p99_seconds'), max: lagMs('nodejs_eventloop_lag_max_seconds') },
    };
  } finally {
    for (const client of clients) client.close();
  }
}
