import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { delay } from './line-client';
import { started, stopped } from './running';

export const REDIS_SERVER_BINARY = '/usr/bin/redis-server';

const HOST = '127.0.0.1';
const READY_WITHIN_MS = 10_000;
const TERM_GRACE_MS = 3000;
const KILL_WAIT_MS = 2000;
const COMMAND_TIMEOUT_MS = 2000;

/** A free TCP port on loopback. (Not federation's: that one brings the whole app into a test that spawns it.) */
export async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, HOST, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Debian's redis-server is installed here; tests that need it skip when it is not. */
export function redisServerAvailable(): boolean {
  try {
    accessSync(REDIS_SERVER_BINARY, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface RedisServerOptions {
  /** Keep an append-only file, fsynced on every write, so that a SIGKILL loses nothing acknowledged. */
  readonly appendonly?: boolean;
}

/** A RESP reply: simple and bulk strings, integers, nil, arrays; an error reply is thrown instead. */
export type RedisReply = string | number | null | RedisReply[];

/**
 * A private redis-server on a free loopback port with its own directory, never the shared one on
 * 6379. The harness stops it after the test (or the file) that started it, even when that fails;
 * a restart keeps it where it was started.
 */
export class RedisServer {
  private child?: ChildProcess;
  private output = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    if (!redisServerAvailable()) throw new Error(`${REDIS_SERVER_BINARY} is not installed (apt-get install redis-server)`);
    const server = new RedisServer(await freeLoopbackPort(), mkdtempSync(join(tmpdir(), 'chat-redis-')), options);
    started(
      server,
      () => `redis-server on ${HOST}:${server.port}`,
      () => server.stop(),
    );
    try {
      await server.launch();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && !hasExited(this.child);
  }

  /** Sends one command on a connection of its own and returns the reply. */
  command(...args: string[]): Promise<RedisReply> {
    return redisCommand(this.port, args);
  }

  /** Dies at once, as a crash or an OOM kill would: nothing is flushed or said to clients. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || hasExited(child)) throw new Error(`redis-server on port ${this.port} is not running`);
    child.kill('SIGKILL');
    if (!(await exitWithin(child, KILL_WAIT_MS))) throw new Error(`redis-server still running ${KILL_WAIT_MS} ms after SIGKILL`);
  }

  /** Starts again on the same port and directory, so an append-only file is loaded back. */
  async restart(): Promise<void> {
    if (this.running) await this.terminate();
    started(
      this,
      () => `redis-server on ${HOST}:${this.port}`,
      () => this.stop(),
    );
    await this.launch();
  }

  /** Closes every client connection (`CLIENT KILL TYPE normal`, and `pubsub`); returns how many. */
  async dropClients(): Promise<number> {
    let dropped = 0;
    for (const type of ['normal', 'pubsub']) dropped += Number(await this.command('CLIENT', 'KILL', 'TYPE', type));
    return dropped;
  }

  /** Stops the server and removes its directory; stopping a stopped server does nothing. */
  async stop(): Promise<void> {
    stopped(this);
    try {
      await this.terminate();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', HOST, '--dir', this.dir, '--save', '', '--daemonize', 'no'];
    args.push('--appendonly', this.options.appendonly ? 'yes' : 'no');
    if (this.options.appendonly) args.push('--appendfsync', 'always');
    this.output = '';
    const child = spawn(REDIS_SERVER_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // This server stops its own process, in the scope where it was first started.
    stopped(child);
    this.child = child;
    const keep = (chunk: Buffer): void => {
      this.output += chunk.toString();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await this.untilItAnswers(child);
  }

  /** PING until PONG; while an append-only file loads, redis answers -LOADING instead. */
  private async untilItAnswers(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_WITHIN_MS;
    let last = '';
    for (;;) {
      if (hasExited(child)) throw new Error(`redis-server on port ${this.port} exited at start:\n${this.output}`);
      try {
        if ((await this.command('PING')) === 'PONG') return;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `redis-server on port ${this.port} did not answer PING within ${READY_WITHIN_MS} ms (${last}):\n${this.output}`,
        );
      }
      await delay(50);
    }
  }

  /** SIGTERM, then SIGKILL after a grace. */
  private async terminate(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || hasExited(child)) return;
    child.kill('SIGTERM');
    if (await exitWithin(child, TERM_GRACE_MS)) return;
    child.kill('SIGKILL');
    if (!(await exitWithin(child, KILL_WAIT_MS))) throw new Error(`redis-server still running ${KILL_WAIT_MS} ms after SIGKILL`);
  }
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Whether `child` has exited within `ms`, waiting no longer. */
export function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  let timer: NodeJS.Timeout | undefined;
  let onExit: (() => void) | undefined;
  return new Promise<boolean>((resolve) => {
    onExit = () => resolve(true);
    child.once('exit', onExit);
    timer = setTimeout(() => resolve(false), ms);
  }).finally(() => {
    clearTimeout(timer);
    if (onExit) child.off('exit', onExit);
  });
}

function encode(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/** One reply parsed from `buffer` at `offset`, with where it ends; undefined while incomplete. */
function parseReply(buffer: Buffer, offset: number): { reply: RedisReply; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const head = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (String.fromCharCode(buffer[offset])) {
    case '+':
      return { reply: head, end: next };
    case '-':
      throw new Error(`redis answered -${head}`);
    case ':':
      return { reply: Number(head), end: next };
    case '$': {
      const length = Number(head);
      if (length < 0) return { reply: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { reply: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(head);
      if (count < 0) return { reply: null, end: next };
      const items: RedisReply[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end);
        if (!item) return undefined;
        items.push(item.reply);
        end = item.end;
      }
      return { reply: items, end };
    }
    default:
      throw new Error(`not a RESP reply: ${JSON.stringify(buffer.toString('utf8', offset, lineEnd))}`);
  }
}

/** A short-lived connection for one command, so no client of the harness outlives it. */
export function redisCommand(port: number, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<RedisReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: HOST });
    let received = Buffer.alloc(0);
    const finish = (outcome: () => void): void => {
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`redis on port ${port} gave no reply to ${args[0]} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const parsed = parseReply(received, 0);
        if (parsed) finish(() => resolve(parsed.reply));
      } catch (error) {
        finish(() => reject(error instanceof Error ? error : new Error(String(error))));
      }
    });
    socket.on('error', (error) => finish(() => reject(error)));
    socket.on('close', () => finish(() => reject(new Error(`redis on port ${port} closed the connection before replying`))));
  });
}
