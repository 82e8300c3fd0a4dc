import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { BusActivity, BusCost, busCost, busTotals, round, sampleBusLag, scrapeMetrics } from './bus-cost';
import { closeRoom, FanoutMode, FanoutResult, measureFanout, Room } from './fanout';
import { RedisProcess } from './redis-process';
import { freePort, ServerProcess, startChatServerProcess } from './server-process';
import { openSpreadRoom, PhaseRunner, SetupPhase } from './spread-room';

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const METRICS_WITHIN_MS = 10_000;
const STOP_WITHIN_MS = 15_000;
const LOGOUT_WITHIN_MS = 30_000;

export interface ClusterConfig {
  readonly runs: number;
  readonly sizes: readonly number[];
  readonly senders: readonly number[];
  readonly seconds: number;
  readonly window: number;
  readonly rate: number;
  /** Instances in the cluster; the members are spread over 1 to this many of them. */
  readonly instances: number;
  /** XADDs redis-benchmark sends at the end (0: none). */
  readonly xaddRequests: number;
  /** Configuration file lines for every chat server (limits, bcrypt cost). */
  readonly serverLines: readonly string[];
  readonly nodeOptions: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface ClusterRow extends FanoutResult {
  readonly run: number;
  /** `single`: one server without cluster mode; `cluster`: `instances` instances sharing Redis. */
  readonly setup: 'single' | 'cluster';
  readonly instances: number;
  /** Instances the members are spread over (round-robin). */
  readonly spread: number;
  readonly bus?: BusCost;
  readonly activity?: BusActivity;
}

/** XADDs per second that redis-benchmark reaches with one connection and with fifty. */
export interface XaddRate {
  readonly clients1?: number;
  readonly clients50?: number;
}

/** Redis's work for one phase of a room's life in cluster mode (set-up, logout), per member. */
export interface SetupCost {
  readonly run: number;
  readonly spread: number;
  readonly members: number;
  readonly phase: SetupPhase;
  /** Members through the phase per second (at the scenario's bcrypt cost, 4). */
  readonly perSecond: number;
  readonly perMember: BusCost;
}

/** Resident memory of each server process just after it started, before any client. */
export interface IdleRss {
  readonly run: number;
  readonly setup: 'single' | 'cluster';
  readonly rssMiB: readonly number[];
}

export interface ClusterScenarioResult {
  readonly rows: ClusterRow[];
  readonly setupCosts: SetupCost[];
  readonly idleRss: IdleRss[];
  /** redis-benchmark XADD on the private Redis, fsyncing every write as the chat's run did, then once a second. */
  readonly xaddPerSecond?: { readonly always: XaddRate; readonly everysec: XaddRate };
}

/**
 * The admin connection (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local `postgres`
 * database) and the URL of a database called `name` on the same server.
 */
export function benchDatabaseUrls(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): { admin: string; url: string } {
  const admin = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || DEFAULT_ADMIN_URL;
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { admin, url: url.toString() };
}

/** One chat server process and where its metrics are. */
interface ChatInstance {
  readonly process: ServerProcess;
  readonly metricsUrl: string;
}

/** A chat server with the given environment, once its /metrics answers. */
async function startInstance(
  scratch: string,
  config: ClusterConfig,
  env: Readonly<Record<string, string>>,
  name: string,
): Promise<ChatInstance> {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  const httpPort = await freePort();
  const server = await startChatServerProcess(dir, ['host: 127.0.0.1', ...config.serverLines], config.nodeOptions, 0, {
    ...env,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    LOG_FORMAT: 'json',
  });
  const instance = { process: server, metricsUrl: `http://127.0.0.1:${httpPort}/metrics` };
  const deadline = Date.now() + METRICS_WITHIN_MS;
  for (;;) {
    try {
      await scrapeMetrics(instance.metricsUrl);
      return instance;
    } catch (error) {
      if (Date.now() > deadline) {
        await stopInstance(instance);
        throw new Error(`${name}: /metrics did not answer within ${METRICS_WITHIN_MS} ms (${(error as Error).message})`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** SIGTERM; SIGKILL when the server has not exited after a graceful shutdown's time. */
async function stopInstance(instance: ChatInstance): Promise<void> {
  const timer = setTimeout(() => instance.process.child.kill('SIGKILL'), STOP_WITHIN_MS);
  await instance.process.stop();
  clearTimeout(timer);
}

/** One fan-out measurement, with Redis's counters and the instances' bus metrics around it in cluster mode. */
async function measure(
  room: Room,
  senders: number,
  mode: FanoutMode,
  redis: RedisProcess | undefined,
  instances: readonly ChatInstance[],
): Promise<{ result: FanoutResult; bus?: BusCost; activity?: BusActivity }> {
  if (!redis) return { result: await measureFanout(room, senders, mode) };
  const totalsBefore = await busTotals(instances.map((instance) => instance.metricsUrl));
  const before = await redis.counters();
  const stopSampling = sampleBusLag(instances.map((instance) => instance.metricsUrl));
  const result = await measureFanout(room, senders, mode);
  const lagMs = stopSampling();
  const after = await redis.counters();
  const totalsAfter = await busTotals(instances.map((instance) => instance.metricsUrl));
  const delta = (key: string) => totalsAfter[key] - totalsBefore[key];
  const per = (value: number) => (result.messages === 0 ? 0 : round(value / result.messages));
  return {
    result,
    bus: busCost(before.counters, after.counters, result.messages, {
      inputBytes: after.ownInputBytes,
      outputBytes: before.ownOutputBytes,
    }),
    activity: {
      publishedPerSay: per(delta('published')),
      receivedPerSay: per(delta('received')),
      errors: delta('errors'),
      gaps: delta('gaps'),
      lagMs,
    },
  };
}

/** What one run of the scenario measures, added to as it goes. */
interface RunContext {
  readonly config: ClusterConfig;
  readonly run: number;
  readonly rows: ClusterRow[];
  readonly setupCosts: SetupCost[];
}

/** Every size and sender count, at full speed and at the fixed rate, on a room over `spread` of `instances`. */
async function measureSpread(
  context: RunContext,
  instances: readonly ChatInstance[],
  redis: RedisProcess | undefined,
  spread: number,
): Promise<void> {
  const { config, run } = context;
  const setup = redis ? 'cluster' : 'single';
  const where = redis ? `cluster of ${instances.length}, members on ${spread}` : 'single server';
  for (const size of config.sizes) {
    const tag = `r${run}s${size}${setup[0]}${spread}x${Date.now() % 100000}`;
    const phase: PhaseRunner = async (name, work) => {
      if (!redis) return work();
      const before = await redis.counters();
      const started = performance.now();
      await work();
      const seconds = (performance.now() - started) / 1000;
      const after = await redis.counters();
      const cost = busCost(before.counters, after.counters, size, {
        inputBytes: after.ownInputBytes,
        outputBytes: before.ownOutputBytes,
      });
      context.setupCosts.push({
        run,
        spread,
        members: size,
        phase: name,
        perSecond: Math.round(size / seconds),
        perMember: cost,
      });
    };
    const ports = instances.map((instance) => instance.process.port);
    const room = await openSpreadRoom(ports, spread, size, tag, phase);
    try {
      for (const senders of config.senders) {
        const modes: FanoutMode[] = [
          { kind: 'window', inFlight: config.window, seconds: config.seconds },
          { kind: 'rate', perSecond: Math.min(config.rate, Math.floor(200_000 / size)), seconds: config.seconds },
        ];
        for (const mode of modes) {
          const { result, bus, activity } = await measure(room, Math.min(senders, size), mode, redis, instances);
          const crashed = instances.find((instance) => instance.process.crash() !== undefined);
          if (crashed) throw new Error(`a chat server exited during the measurement (${crashed.process.crash()})`);
          context.rows.push({ ...result, run, setup, instances: instances.length, spread, bus, activity });
          const cost = bus
            ? `, ${bus.commandsPerSay} Redis commands and ${bus.inputBytesPerSay + bus.outputBytesPerSay} bytes per SAY, bus lag max ${activity?.lagMs.max} ms`
            : '';
          console.error(
            `  run ${run} cluster scenario, ${where}: ${size} members ${senders} sender(s) ${result.mode}: ${result.deliveriesPerSecond} deliveries/s, p99 ${result.latencyMs.p99} ms, lost ${result.lost}${cost}`,
          );
        }
      }
      await phase('logout', async () => {
        closeRoom(room);
        await untilLoggedOut(instances);
      });
    } finally {
      closeRoom(room);
    }
  }
}

/** Waits until no user is logged in on any instance (the room's members have gone), then a little more for their releases. */
async function untilLoggedOut(instances: readonly ChatInstance[]): Promise<void> {
  const deadline = Date.now() + LOGOUT_WITHIN_MS;
  for (;;) {
    const all = await Promise.all(instances.map((instance) => scrapeMetrics(instance.metricsUrl)));
    if (all.every((metrics) => (metrics.get('chat_users_logged_in') ?? 0) === 0)) break;
    if (Date.now() > deadline) throw new Error(`users still logged in ${LOGOUT_WITHIN_MS} ms after the room closed`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}

/**
 * XADDs of a SAY's size: with `appendfsync always` (the chat's setting), then `everysec`. One
 * connection waits for each reply, as one sender's SAYs do; fifty let Redis fsync many at once.
 */
async function xaddBenchmark(redis: RedisProcess, requests: number): Promise<ClusterScenarioResult['xaddPerSecond']> {
  const fields = [
    't',
    'say',
    'o',
    'bench1',
    'd',
    JSON.stringify(['roomr1s1000c1x12345', 'r1s1000c1x12345i0u0', '0.1234.5678901234']),
  ];
  const rate = async (): Promise<XaddRate> => ({
    clients1: await redis.xaddPerSecond(Math.ceil(requests / 10), 1, fields),
    clients50: await redis.xaddPerSecond(requests, 50, fields),
  });
  const always = await rate();
  await redis.setAppendFsync('everysec');
  const everysec = await rate();
  await redis.setAppendFsync('always');
  return { always, everysec };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A private Redis and a fresh PostgreSQL database; in each run, one server without cluster mode,
 * then `instances` instances in cluster mode with the members spread over 1…`instances` of them.
 */
export async function runClusterScenario(config: ClusterConfig, scratch: string): Promise<ClusterScenarioResult> {
  const name = `chat_bench_${process.pid}_${Date.now() % 1_000_000}`;
  const database = benchDatabaseUrls(config.env, name);
  await adminQuery(database.admin, `CREATE DATABASE "${name}"`);
  let redis: RedisProcess | undefined;
  try {
    const shared = await RedisProcess.start(mkdtempSync(join(scratch, 'redis-')));
    redis = shared;
    const rows: ClusterRow[] = [];
    const setupCosts: SetupCost[] = [];
    const idleRss: IdleRss[] = [];
    const rssMiB = (instance: ChatInstance) => Math.round(instance.process.rssKb() / 1024);
    for (let run = 1; run <= config.runs; run++) {
      const context: RunContext = { config, run, rows, setupCosts };
      const single = await startInstance(scratch, config, { DATABASE_URL: database.url, REDIS_URL: '' }, 'single');
      try {
        idleRss.push({ run, setup: 'single', rssMiB: [rssMiB(single)] });
        await measureSpread(context, [single], undefined, 1);
      } finally {
        await stopInstance(single);
      }
      const instances: ChatInstance[] = [];
      try {
        const start = (index: number) =>
          startInstance(
            scratch,
            config,
            { DATABASE_URL: database.url, REDIS_URL: shared.url, INSTANCE_ID: `bench${index}` },
            `instance${index}`,
          );
        // The first instance runs the migrations (if any are left) alone; the others start together after it.
        instances.push(await start(1));
        const others = await Promise.allSettled(Array.from({ length: config.instances - 1 }, (_, index) => start(index + 2)));
        for (const other of others) if (other.status === 'fulfilled') instances.push(other.value);
        const failed = others.find((other) => other.status === 'rejected');
        if (failed) throw failed.reason;
        idleRss.push({ run, setup: 'cluster', rssMiB: instances.map(rssMiB) });
        for (let spread = 1; spread <= config.instances; spread++) await measureSpread(context, instances, shared, spread);
      } finally {
        await Promise.all(instances.map((instance) => stopInstance(instance)));
      }
    }
    const xaddPerSecond = config.xaddRequests > 0 ? await xaddBenchmark(shared, config.xaddRequests) : undefined;
    return { rows, setupCosts, idleRss, xaddPerSecond };
  } finally {
    await redis?.stop();
    await adminQuery(database.admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}
