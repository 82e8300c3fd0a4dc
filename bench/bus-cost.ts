import { parseMetrics } from '../test/e2e/harness/http-probe';
import { RedisCounters } from './redis-process';

const LAG_SAMPLE_MS = 250;

/** Redis's work for the SAYs of one measurement, per SAY. */
export interface BusCost {
  readonly messages: number;
  /** Every command but INFO (the bench's own), per SAY. */
  readonly commandsPerSay: number;
  /** The same by command (`xadd`, `xread`, …). */
  readonly commands: Readonly<Record<string, number>>;
  readonly inputBytesPerSay: number;
  readonly outputBytesPerSay: number;
  /** Redis's own time in the commands (commandstats' usec). */
  readonly commandMicrosPerSay: number;
  /** The same by command. */
  readonly commandMicros: Readonly<Record<string, number>>;
  /** Redis's whole CPU (user + system: network, AOF writes and fsync included). */
  readonly cpuMicrosPerSay: number;
}

/** What the chat instances report about the bus over one measurement. */
export interface BusActivity {
  /** Entries appended, and entries read by all instances together, per SAY. */
  readonly publishedPerSay: number;
  readonly receivedPerSay: number;
  readonly errors: number;
  readonly gaps: number;
  /** chat_bus_lag_seconds, sampled every 250 ms on every instance while the load ran. */
  readonly lagMs: { readonly mean: number; readonly max: number };
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * Redis's work between two readings, per message. The first reading's own reply and the second's
 * request are taken out of the bytes, and INFO out of the commands.
 */
export function busCost(
  before: RedisCounters,
  after: RedisCounters,
  messages: number,
  own: { readonly inputBytes: number; readonly outputBytes: number },
): BusCost {
  const per = (value: number, digits = 2) => (messages === 0 ? 0 : round(value / messages, digits));
  const commands: Record<string, number> = {};
  const commandMicros: Record<string, number> = {};
  let calls = 0;
  let micros = 0;
  for (const [command, total] of Object.entries(after.calls)) {
    if (command === 'info') continue;
    const delta = total - (before.calls[command] ?? 0);
    if (delta === 0) continue;
    const usec = (after.usec[command] ?? 0) - (before.usec[command] ?? 0);
    commands[command] = per(delta);
    commandMicros[command] = per(usec, 1);
    calls += delta;
    micros += usec;
  }
  return {
    messages,
    commandsPerSay: per(calls),
    commands,
    inputBytesPerSay: per(after.inputBytes - before.inputBytes - own.inputBytes, 0),
    outputBytesPerSay: per(after.outputBytes - before.outputBytes - own.outputBytes, 0),
    commandMicrosPerSay: per(micros, 1),
    commandMicros,
    cpuMicrosPerSay: per((after.cpuSeconds - before.cpuSeconds) * 1e6, 1),
  };
}

/** The samples of a server's /metrics. */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** chat_bus_lag_seconds of every instance, every 250 ms, until stopped. */
export function sampleBusLag(urls: readonly string[]): () => { mean: number; max: number } {
  const samples: number[] = [];
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    Promise.all(urls.map((url) => scrapeMetrics(url)))
      .then((all) => {
        for (const metrics of all) samples.push((metrics.get('chat_bus_lag_seconds') ?? 0) * 1000);
      })
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, LAG_SAMPLE_MS);
  return () => {
    clearInterval(timer);
    const total = samples.reduce((sum, value) => sum + value, 0);
    return { mean: round(samples.length === 0 ? 0 : total / samples.length, 1), max: round(Math.max(0, ...samples), 1) };
  };
}

/** chat_bus_published_total, …_received_total, …_errors_total and …_gaps_total, summed over the instances. */
export async function busTotals(urls: readonly string[]): Promise<Record<string, number>> {
  const totals: Record<string, number> = { published: 0, received: 0, errors: 0, gaps: 0 };
  for (const metrics of await Promise.all(urls.map((url) => scrapeMetrics(url)))) {
    for (const key of Object.keys(totals)) totals[key] += metrics.get(`chat_bus_${key}_total`) ?? 0;
  }
  return totals;
}
