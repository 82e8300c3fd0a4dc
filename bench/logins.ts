import { compare, hash } from 'bcrypt';
import { performance } from 'node:perf_hooks';
import { parseMetrics } from '../test/e2e/harness/http-probe';
import { connectMany } from './bench-client';

export interface LoginsResult {
  readonly users: number;
  readonly bcryptCost: number;
  readonly registrationsPerSecond: number;
  readonly loginsPerSecond: number;
  /** The server's event-loop lag while the logins ran (prom-client's histogram, reset by the scrape before). */
  readonly eventLoopLagMs: { readonly p99: number; readonly max: number };
  /** bcrypt compares per second in this process at the same cost, as many at once as libuv has threads. */
  readonly bcryptAlonePerSecond: number;
  readonly ratio: number;
}

async function scrape(metricsUrl: string): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(metricsUrl)).text());
}

/** What bcrypt alone reaches here: `count` compares, `parallel` at a time. */
export async function bcryptAlone(
  cost: number,
  count: number,
  parallel = Number(process.env.UV_THREADPOOL_SIZE ?? 4),
): Promise<number> {
  const stored = await hash('pw', cost);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next++ < count) await compare('pw', stored);
    }),
  );
  return Math.round((count / (performance.now() - started)) * 1000);
}

/**
 * `users` connections register at once, then all log in at once (each LOGIN is one bcrypt compare
 * on the server). The server's event-loop lag is read from its /metrics around the logins.
 */
export async function measureLogins(
  port: number,
  host: string,
  metricsUrl: string,
  users: number,
  bcryptCost: number,
  tag: string,
): Promise<LoginsResult> {
  const clients = await connectMany(`${tag}l`, users, port, host);
  try {
    let started = performance.now();
    await Promise.all(clients.map((client) => client.exchange([`REGISTER ${client.name} pw`], ['RESULT REGISTER 1'])));
    const registrationsPerSecond = Math.round((users / (performance.now() - started)) * 1000);

    await scrape(metricsUrl);
    started = performance.now();
    await Promise.all(clients.map((client) => client.exchange([`LOGIN ${client.name} pw`], ['RESULT LOGIN 1'])));
    const loginsPerSecond = Math.round((users / (performance.now() - started)) * 1000);
    const metrics = await scrape(metricsUrl);
    const lagMs = (name: string) => Math.round((metrics.get(name) ?? NaN) * 1e5) / 100;

    const bcryptAlonePerSecond = await bcryptAlone(bcryptCost, users);
    return {
      users,
      bcryptCost,
      registrationsPerSecond,
      loginsPerSecond,
      eventLoopLagMs: { p99: lagMs('nodejs_eventloop_lag_p99_seconds'), max: lagMs('nodejs_eventloop_lag_max_seconds') },
      bcryptAlonePerSecond,
      ratio: Math.round((loginsPerSecond / bcryptAlonePerSecond) * 100) / 100,
    };
  } finally {
    for (const client of clients) client.close();
  }
}
