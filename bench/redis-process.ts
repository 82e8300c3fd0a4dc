import { ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { freePort, stopAtExit } from './server-process';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_BENCHMARK = '/usr/bin/redis-benchmark';
const HOST = '127.0.0.1';
const READY_WITHIN_MS = 10_000;
const TERM_GRACE_MS = 5000;
const BENCHMARK_WITHIN_MS = 120_000;

/** What Redis has done since it started: calls and CPU time per command, bytes in and out, its own CPU. */
export interface RedisCounters {
  readonly calls: Readonly<Record<string, number>>;
  readonly usec: Readonly<Record<string, number>>;
  readonly inputBytes: number;
  readonly outputBytes: number;
  /** used_cpu_user + used_cpu_sys, in seconds: the server's whole CPU, network and fsync included. */
  readonly cpuSeconds: number;
}

/** The sections `counters()` reads, in one command. */
const COUNTER_SECTIONS = ['stats', 'cpu', 'commandstats'];

/** Reads the counters out of an `INFO stats cpu commandstats` reply. */
export function parseRedisInfo(text: string): RedisCounters {
  const calls: Record<string, number> = {};
  const usec: Record<string, number> = {};
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (line.startsWith('#') || colon === -1) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (!key.startsWith('cmdstat_')) {
      fields.set(key, value);
      continue;
    }
    // cmdstat_xadd:calls=10,usec=120,usec_per_call=12.00,rejected_calls=0,failed_calls=0
    const stats = new Map(value.split(',').map((pair) => pair.split('=') as [string, string]));
    const command = key.slice('cmdstat_'.length);
    calls[command] = Number(stats.get('calls') ?? 0);
    usec[command] = Number(stats.get('usec') ?? 0);
  }
  const number = (key: string) => Number(fields.get(key) ?? 0);
  return {
    calls,
    usec,
    inputBytes: number('total_net_input_bytes'),
    outputBytes: number('total_net_output_bytes'),
    cpuSeconds: number('used_cpu_user') + number('used_cpu_sys'),
  };
}

/** The bytes of `args` as a RESP request. */
export function respRequestBytes(args: readonly string[]): number {
  return args.reduce(
    (total, arg) => total + `$${Buffer.byteLength(arg)}\r\n`.length + Buffer.byteLength(arg) + 2,
    `*${args.length}\r\n`.length,
  );
}

/** The bytes of a bulk string reply of `body`. */
export function respBulkBytes(body: string): number {
  const length = Buffer.byteLength(body);
  return `$${length}\r\n`.length + length + 2;
}

/** Requests per second from the output of `redis-benchmark -q` (the last figure it printed). */
export function parseRedisBenchmark(output: string): number | undefined {
  const figures = [...output.matchAll(/([\d.]+) requests per second/g)];
  return figures.length === 0 ? undefined : Number(figures[figures.length - 1][1]);
}

/**
 * A private redis-server on a free loopback port with its own directory, run as a deployment
 * would: no snapshots, an append-only file fsynced on every write.
 */
export class RedisProcess {
  private readonly admin: Redis;
  private exited: Promise<void>;

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.admin = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    this.admin.on('error', () => undefined);
  }

  static async start(dir: string): Promise<RedisProcess> {
    const port = await freePort(HOST);
    const args = ['--port', String(port), '--bind', HOST, '--dir', dir, '--daemonize', 'no'];
    args.push('--save', '', '--appendonly', 'yes', '--appendfsync', 'always');
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    stopAtExit(child);
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const keep = (chunk: Buffer) => {
        if (output.length < 20_000) output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      child.once('error', (error) => reject(new Error(`${REDIS_SERVER}: ${error.message} (apt-get install redis-server)`)));
      child.once('exit', () => reject(new Error(`redis-server exited at start:\n${output}`)));
    });
    const server = new RedisProcess(port, child);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`redis-server on port ${port} was not ready within ${READY_WITHIN_MS} ms:\n${output}`)),
            READY_WITHIN_MS,
          );
        }),
      ]);
      await server.admin.connect();
    } catch (error) {
      await server.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return server;
  }

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * The counters now, and what reading them costs the next reading: this request's bytes in, and
   * its reply's bytes out (sent after the counters were taken).
   */
  async counters(): Promise<{ counters: RedisCounters; ownInputBytes: number; ownOutputBytes: number }> {
    const reply = (await this.admin.call('INFO', ...COUNTER_SECTIONS)) as string;
    return {
      counters: parseRedisInfo(reply),
      ownInputBytes: respRequestBytes(['INFO', ...COUNTER_SECTIONS]),
      ownOutputBytes: respBulkBytes(reply),
    };
  }

  /** Sets `appendfsync` (`always`, `everysec`, `no`) while the server runs. */
  async setAppendFsync(policy: 'always' | 'everysec' | 'no'): Promise<void> {
    await this.admin.call('CONFIG', 'SET', 'appendfsync', policy);
  }

  /**
   * `redis-benchmark` appending `fields` to a stream of its own with `clients` connections, each
   * waiting for its reply before the next XADD: XADDs per second. The stream is deleted afterwards.
   */
  async xaddPerSecond(requests: number, clients: number, fields: readonly string[]): Promise<number | undefined> {
    const key = 'bench:xadd';
    const args = ['-h', HOST, '-p', String(this.port), '-n', String(requests), '-c', String(clients), '-q'];
    const child = spawn(REDIS_BENCHMARK, [...args, 'XADD', key, 'MAXLEN', '~', '100000', '*', ...fields], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BENCHMARK_WITHIN_MS);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', () => resolve());
    }).finally(() => clearTimeout(timer));
    await this.admin.del(key);
    return parseRedisBenchmark(output);
  }

  /** SIGTERM, SIGKILL after a grace; then the exit. */
  async stop(): Promise<void> {
    this.admin.disconnect();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), TERM_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
