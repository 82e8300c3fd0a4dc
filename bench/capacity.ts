import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { BenchClient } from './bench-client';
import type { CapacityStatus, CapacityTask } from './capacity-worker';

const WORKER = join(__dirname, 'capacity-worker.ts');
const BATCH = 500;
/**
 * Wait before a memory sample. Setting up thousands of connections leaves garbage spread over the
 * heap's pages; V8 gives those pages back within seconds of the load stopping, so an earlier sample
 * measures the set-up, not the connections.
 */
const SETTLE_MS = 20_000;
const WORKER_EXIT_MS = 10_000;

/**
 * Node options for the server that make SIGUSR2 run a full garbage collection. Without one, the
 * idle server keeps several hundred MiB of start-up garbage (PGlite) until its first major
 * collection, which happens only under load, so the baseline would be too high.
 */
export const GC_ON_SIGUSR2 = ['--expose-gc', '--import', 'data:text/javascript,process.on("SIGUSR2",()=>globalThis.gc())'];

export interface CapacityOptions {
  readonly port: number;
  readonly host: string;
  readonly count: number;
  /** Connections per worker process (each process may hold at most 20,000 descriptors). */
  readonly perWorker?: number;
  /** Resident memory of the server now, in KiB. */
  readonly rssKb: () => number;
  /** Asks the server for a full garbage collection before each memory sample (see GC_ON_SIGUSR2). */
  readonly collectGarbage?: () => void;
  /** Runs with every connection still open, after the memory is measured. */
  readonly whenLoaded?: () => Promise<void>;
  /** How long every connection may take to be ready before the run fails. */
  readonly readyTimeoutMs?: number;
}

export interface CapacityResult {
  readonly connections: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly baselineRssKb: number;
  readonly loadedRssKb: number;
  readonly bytesPerConnection: number;
  readonly projected100kMiB: number;
  readonly seconds: number;
}

interface Worker {
  readonly child: ChildProcess;
  status: CapacityStatus;
  readonly exited: Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** After a settle and an optional garbage collection, the median of a few samples taken `intervalMs` apart. */
async function steadyRssKb({ rssKb, collectGarbage }: CapacityOptions, samples = 5, intervalMs = 400): Promise<number> {
  await sleep(SETTLE_MS);
  if (collectGarbage) {
    collectGarbage();
    await sleep(SETTLE_MS);
  }
  const values: number[] = [];
  for (let k = 0; k < samples; k++) {
    if (k > 0) await sleep(intervalMs);
    values.push(rssKb());
  }
  return values.sort((a, b) => a - b)[Math.floor(samples / 2)];
}

async function createChannel(port: number, host: string, tag: string): Promise<string> {
  const channel = `cap${tag}`;
  const name = `cap${tag}owner`;
  const owner = await BenchClient.connect(name, port, host);
  try {
    await owner.exchange(
      [`REGISTER ${name} pw`, `LOGIN ${name} pw`, `CREATE ${channel}`],
      ['RESULT REGISTER 1', 'RESULT LOGIN 1', `RESULT CREATE ${channel} 1`],
    );
  } finally {
    owner.close();
  }
  return channel;
}

function startWorker(task: CapacityTask): Worker {
  const child = fork(WORKER, [JSON.stringify(task)], { execArgv: ['-r', 'ts-node/register/transpile-only'] });
  const worker: Worker = {
    child,
    status: { opened: 0, ready: 0, errors: 0, done: false },
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
  child.on('message', (message) => {
    worker.status = message as CapacityStatus;
  });
  return worker;
}

const running = (worker: Worker) => worker.child.exitCode === null && worker.child.signalCode === null;

function total(workers: readonly Worker[]): CapacityStatus {
  const sum: CapacityStatus = { opened: 0, ready: 0, errors: 0, done: workers.every((worker) => worker.status.done) };
  for (const { status } of workers) {
    sum.opened += status.opened;
    sum.ready += status.ready;
    sum.errors += status.errors;
    sum.firstError ??= status.firstError;
  }
  return sum;
}

async function waitUntilDone(workers: readonly Worker[], timeoutMs: number): Promise<CapacityStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sum = total(workers);
    if (sum.done) return sum;
    const crashed = workers.findIndex((worker) => !worker.status.done && !running(worker));
    if (crashed !== -1)
      throw new Error(
        `capacity worker ${crashed} exited early (${workers[crashed].child.exitCode ?? workers[crashed].child.signalCode}); ${describe(sum)}`,
      );
    if (Date.now() > deadline) throw new Error(`connections not ready within ${timeoutMs / 1000} s; ${describe(sum)}`);
    await sleep(100);
  }
}

function describe(status: CapacityStatus): string {
  return `opened ${status.opened}, ready ${status.ready}, errors ${status.errors}${status.firstError ? ` (first: ${status.firstError})` : ''}`;
}

/** Splits `count` into `parts` nearly equal shares. */
function shares(count: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, index) => Math.floor(count / parts) + (index < count % parts ? 1 : 0));
}

/**
 * Holds `count` idle connections to the server, each logged in and joined to one channel, spread
 * over worker processes and (on loopback) over source addresses 127.0.0.2, 127.0.0.3, …, and
 * measures what they cost the server in resident memory.
 */
export async function measureCapacity(options: CapacityOptions): Promise<CapacityResult> {
  const { port, host, count } = options;
  const perWorker = options.perWorker ?? 5000;
  const tag = (Date.now() % 1_000_000).toString(36);

  const baselineRssKb = await steadyRssKb(options);
  const channel = await createChannel(port, host, tag);

  const loopback = host.startsWith('127.');
  const started = Date.now();
  const workers = shares(count, Math.max(1, Math.ceil(count / perWorker))).map((share, index) =>
    startWorker({
      port,
      host,
      sources: loopback ? [`127.0.0.${2 + index}`] : [],
      count: share,
      prefix: `cap${tag}w${index}u`,
      channel,
      batch: BATCH,
    }),
  );
  try {
    const status = await waitUntilDone(workers, options.readyTimeoutMs ?? 300_000);
    const seconds = (Date.now() - started) / 1000;
    const loadedRssKb = await steadyRssKb(options);
    const connections = status.ready;
    const bytesPerConnection = connections > 0 ? Math.round(((loadedRssKb - baselineRssKb) * 1024) / connections) : 0;
    await options.whenLoaded?.();
    for (const worker of workers) if (worker.child.connected) worker.child.send('close');
    await Promise.race([Promise.all(workers.map((worker) => worker.exited)), sleep(WORKER_EXIT_MS)]);
    return {
      connections,
      errors: status.errors,
      ...(status.firstError !== undefined && { firstError: status.firstError }),
      baselineRssKb,
      loadedRssKb,
      bytesPerConnection,
      projected100kMiB: Math.round((baselineRssKb * 1024 + 100_000 * bytesPerConnection) / 2 ** 20),
      seconds: Math.round(seconds * 10) / 10,
    };
  } finally {
    for (const worker of workers) if (running(worker)) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
  }
}
