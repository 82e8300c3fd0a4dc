import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { databaseNameOf, RUN_ENV } from './databases';
import { delay, LineClient } from './line-client';
import type { LogEntry } from './log-capture';
import { exitWithin, freeLoopbackPort, hasExited, REDIS_SERVER_BINARY, RedisServer, redisServerAvailable } from './redis-server';
import { started, stopped } from './running';

const MAIN = join(__dirname, '..', '..', '..', 'dist', 'main.js');
const HOST = '127.0.0.1';

/** The first instance also runs the migrations. */
const READY_WITHIN_MS = 30_000;
/** At shutdown a server waits up to 5 s for clients to close their end. */
const EXIT_AFTER_TERM_MS = 8000;
const EXIT_AFTER_KILL_MS = 2000;

const LISTENING = /^listening on (\S+):(\d+)$/;
/** HTTP starts after the line protocol, so this line is what says an instance is up. */
const HTTP_LISTENING = /^health and metrics on http:\/\/(\S+):(\d+)$/;

/** Why the cluster specs cannot run here (appended to their describe's name), or '' when they can. */
export const CLUSTER_SKIPPED = !redisServerAvailable()
  ? ` (skipped: ${REDIS_SERVER_BINARY} is not installed)`
  : !process.env.TEST_DATABASE_URL
    ? ' (skipped: cluster mode needs PostgreSQL; TEST_DATABASE_URL is unset)'
    : '';

/** `describe`, or `describe.skip` when the cluster specs cannot run here. */
export const clusterDescribe = CLUSTER_SKIPPED ? describe.skip : describe;

export interface ClusterOptions {
  /** How many instances, named i1…iN; 3 unless given. */
  readonly instances?: number;
  /** The shared Redis, or its URL. */
  readonly redis: RedisServer | string;
  /** A PostgreSQL URL whose server gets the cluster's own database; TEST_DATABASE_URL unless given. */
  readonly databaseUrl?: string;
  /** More environment for every instance, over the harness's own (CLUSTER_LEASE_MS, CHAT_PEERS…). */
  readonly env?: Readonly<Record<string, string>>;
  /** A YAML configuration file's text, for keys without an environment variable (`limits.*`). */
  readonly configuration?: string;
}

interface Launch {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** One `node dist/main.js` of a cluster, with its JSON log lines kept for assertions. */
export class ClusterInstance {
  private child?: ChildProcess;
  private lines: string[] = [];
  private partial = '';
  private stderr = '';
  private ports?: { chat: number; http: number };

  constructor(
    readonly id: string,
    private readonly launch: Launch,
  ) {}

  /** The chat port of the current run. */
  get port(): number {
    return this.current().chat;
  }

  get httpPort(): number {
    return this.current().http;
  }

  /** Where health and metrics are served, in the shape `httpGet` takes. */
  get http(): AddressInfo {
    return { address: HOST, family: 'IPv4', port: this.httpPort };
  }

  get running(): boolean {
    return this.child !== undefined && !hasExited(this.child);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Every JSON line this instance wrote to stdout, over all its runs. */
  get logs(): LogEntry[] {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as LogEntry];
      } catch {
        return [];
      }
    });
  }

  /** stdout and stderr as written, for error messages. */
  get output(): string {
    return [...this.lines, this.partial, this.stderr].join('\n');
  }

  /** Starts the process and waits until both its chat and HTTP ports are listening. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`instance ${this.id} is already running`);
    const firstLine = this.lines.length;
    this.ports = undefined;
    const httpPort = await freeLoopbackPort();
    const child = spawn(process.execPath, [MAIN, ...this.launch.args], {
      env: { ...this.launch.env, HTTP_PORT: String(httpPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The cluster stops its own processes, in the scope where it was started.
    stopped(child);
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.onStdout(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.ports = await this.untilListening(child, firstLine);
  }

  /** SIGKILL: no shutdown, no goodbye to Redis, clients or the database. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || hasExited(child)) throw new Error(`instance ${this.id} is not running`);
    child.kill('SIGKILL');
    if (!(await exitWithin(child, EXIT_AFTER_KILL_MS)))
      throw new Error(`instance ${this.id} still running ${EXIT_AFTER_KILL_MS} ms after SIGKILL`);
  }

  /** SIGTERM and wait for the exit; SIGKILL and an error if it takes longer than a graceful shutdown should. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || hasExited(child)) return;
    child.kill('SIGTERM');
    if (await exitWithin(child, EXIT_AFTER_TERM_MS)) return;
    child.kill('SIGKILL');
    await exitWithin(child, EXIT_AFTER_KILL_MS);
    throw new Error(
      `instance ${this.id} did not exit within ${EXIT_AFTER_TERM_MS} ms of SIGTERM (killed):\n${tail(this.output)}`,
    );
  }

  /** Stops it if it runs, then starts it again, on new ephemeral ports. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Waits until a log entry of any run so far `matches`. */
  async waitForLog(matches: (entry: LogEntry) => boolean, what: string, timeoutMs = 10_000): Promise<LogEntry> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(matches);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`instance ${this.id} did not log ${what} within ${timeoutMs} ms:\n${tail(this.output)}`);
      await delay(50);
    }
  }

  private current(): { chat: number; http: number } {
    if (!this.ports || !this.running) throw new Error(`instance ${this.id} is not running`);
    return this.ports;
  }

  private onStdout(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() as string;
    this.lines.push(...parts.filter((line) => line !== ''));
  }

  private async untilListening(child: ChildProcess, firstLine: number): Promise<{ chat: number; http: number }> {
    const deadline = Date.now() + READY_WITHIN_MS;
    for (;;) {
      let chat: number | undefined;
      let http: number | undefined;
      for (const line of this.lines.slice(firstLine)) {
        const msg = messageOf(line);
        chat ??= portIn(LISTENING, msg);
        http ??= portIn(HTTP_LISTENING, msg);
      }
      if (chat !== undefined && http !== undefined) return { chat, http };
      if (hasExited(child))
        throw new Error(
          `instance ${this.id} exited (${child.exitCode ?? child.signalCode}) before listening:\n${tail(this.output)}`,
        );
      if (Date.now() > deadline) {
        const missing = chat === undefined ? '"listening on <addr>:<port>"' : '"health and metrics on http://…"';
        throw new Error(`instance ${this.id} did not log ${missing} within ${READY_WITHIN_MS} ms:\n${tail(this.output)}`);
      }
      await delay(50);
    }
  }
}

let clusters = 0;

/**
 * N server processes sharing one fresh PostgreSQL database and one Redis, as in production. The
 * harness stops every instance and drops the database after the test (or the file) that started
 * the cluster, even when it fails; an instance restarted later keeps that home.
 */
export class Cluster {
  readonly instances: ClusterInstance[] = [];
  private scratch?: string;
  private databaseCreated = false;

  private constructor(
    readonly databaseUrl: string,
    private readonly adminUrl: string,
  ) {}

  static async start(options: ClusterOptions): Promise<Cluster> {
    const base = options.databaseUrl ?? process.env.TEST_DATABASE_URL;
    if (!base) throw new Error('a cluster needs PostgreSQL: set TEST_DATABASE_URL (or pass databaseUrl)');
    const cluster = new Cluster(clusterDatabaseUrl(base), base);
    started(
      cluster,
      () => `cluster of ${cluster.instances.length} instances on ${databaseNameOf(cluster.databaseUrl)}`,
      () => cluster.stop(),
    );
    try {
      await cluster.createDatabase();
      const launch = cluster.launchFor(options);
      const count = options.instances ?? 3;
      for (let i = 1; i <= count; i++) cluster.instances.push(new ClusterInstance(`i${i}`, launch(`i${i}`)));
      // Migrations run once, on the first instance, before the others start.
      await cluster.instances[0].start();
      await Promise.all(cluster.instances.slice(1).map((instance) => instance.start()));
    } catch (error) {
      await cluster.stop().catch(() => undefined);
      throw error;
    }
    return cluster;
  }

  /** Instance `i` (1-based: instance(1) is i1). */
  instance(i: number): ClusterInstance {
    const instance = this.instances[i - 1];
    if (!instance) throw new Error(`the cluster has instances 1 to ${this.instances.length}, not ${i}`);
    return instance;
  }

  /** A line client connected to instance `i`. */
  connect(i: number, name = `client@i${i}`): Promise<LineClient> {
    return LineClient.connect(this.instance(i).port, name);
  }

  /** A client on instance `i`, registered and logged in as `user`. */
  async loggedIn(i: number, user: string, password = 'pw'): Promise<LineClient> {
    const client = await this.connect(i, `${user}@i${i}`);
    await client.registerAndLogin(user, password);
    return client;
  }

  /** Stops every instance (SIGTERM), then drops the database; stopping twice does nothing. */
  async stop(): Promise<void> {
    stopped(this);
    const outcomes = await Promise.allSettled(this.instances.map((instance) => instance.stop()));
    const problems = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as Error).message] : []));
    try {
      await this.dropDatabase();
    } catch (error) {
      problems.push(`dropping ${databaseNameOf(this.databaseUrl)}: ${(error as Error).message}`);
    }
    if (this.scratch) rmSync(this.scratch, { recursive: true, force: true });
    this.scratch = undefined;
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }

  private launchFor(options: ClusterOptions): (id: string) => Launch {
    const args = ['0'];
    if (options.configuration !== undefined) {
      this.scratch = mkdtempSync(join(tmpdir(), 'chat-cluster-'));
      const path = join(this.scratch, 'configuration.yaml');
      writeFileSync(path, options.configuration);
      args.push(path);
    }
    const redisUrl = typeof options.redis === 'string' ? options.redis : options.redis.url;
    return (id) => ({
      args,
      env: {
        PATH: process.env.PATH ?? '',
        HOST,
        PORT: '0',
        HTTP_HOST: HOST,
        LOG_FORMAT: 'json',
        BCRYPT_COST: '4',
        INSTANCE_ID: id,
        REDIS_URL: redisUrl,
        DATABASE_URL: this.databaseUrl,
        ...options.env,
      },
    });
  }

  private async createDatabase(): Promise<void> {
    await this.admin(`CREATE DATABASE "${databaseNameOf(this.databaseUrl)}"`);
    this.databaseCreated = true;
  }

  private async dropDatabase(): Promise<void> {
    if (!this.databaseCreated) return;
    await this.admin(`DROP DATABASE IF EXISTS "${databaseNameOf(this.databaseUrl)}" WITH (FORCE)`);
    this.databaseCreated = false;
  }

  private async admin(sql: string): Promise<void> {
    const client = new Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

/** A database of its own on the server of `base`, named after the run, the worker and the cluster. */
function clusterDatabaseUrl(base: string): string {
  const url = new URL(base);
  const prefix = databaseNameOf(base).slice(0, 30);
  url.pathname = `${prefix}_${process.env[RUN_ENV] ?? process.pid}_w${process.env.JEST_WORKER_ID ?? '1'}_c${++clusters}`;
  return url.toString();
}

function messageOf(line: string): string {
  try {
    return String((JSON.parse(line) as LogEntry).msg);
  } catch {
    return '';
  }
}

function portIn(pattern: RegExp, msg: string): number | undefined {
  const match = pattern.exec(msg);
  return match ? Number(match[2]) : undefined;
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
