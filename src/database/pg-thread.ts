import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { fromFailure, QueryResult } from './embedded-messages';
import { PgReply, PgRequest, PoolSettings } from './pg-messages';
import { plainFailure } from './plain-failure';
import { threadScript } from './thread-script';

/*
 * PostgreSQL's driver (`pg`) in a thread of its own, as the embedded database is: the main thread's
 * event loop serves the chat's sockets and nothing else.
 *
 * Why: every socket of a process goes through the same compiled copy of Node's stream code
 * (`Writable.write` and what it calls). `pg` writes `Buffer`s through it and the chat writes
 * strings; in a process that has done both, V8 compiles that path for both and stops inlining it
 * into the loop that writes a RECV to each member of a channel, which costs about 1 % of the main
 * thread per delivery (BENCHMARKS.md, the fourteenth pass). A worker has its own copy.
 *
 * One thread serves every pool of the process (the migrations' and the server's). It holds the
 * process open while an answer from it is awaited, and is started again for a pool if it stopped.
 */

type Pending = { resolve: (reply: PgReply) => void; reject: (error: Error) => void };

class PgThread {
  private static current: PgThread | undefined;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly pools = new Map<number, ThreadPool>();
  private nextId = 1;
  private stopped: Error | undefined;

  /** The running thread, started if there is none or the last one stopped. */
  static get(): PgThread {
    if (!PgThread.current || PgThread.current.stopped) PgThread.current = new PgThread();
    return PgThread.current;
  }

  private constructor() {
    const { file, execArgv } = threadScript('pg-worker');
    this.worker = new Worker(file, { execArgv });
    this.worker.unref();
    this.worker.on('message', (reply: PgReply) => this.settle(reply));
    this.worker.on('error', (error) =>
      this.stop(new Error(`the PostgreSQL driver's thread stopped: ${plainFailure(error)}`, { cause: error })),
    );
    this.worker.on('exit', (code) => this.stop(new Error(`the PostgreSQL driver's thread stopped (exit code ${code})`)));
  }

  get alive(): boolean {
    return this.stopped === undefined;
  }

  /** Makes `pool`'s pool in the thread, under the id it is given. */
  addPool(pool: ThreadPool, settings: PoolSettings): number {
    const id = this.nextId++;
    this.pools.set(id, pool);
    this.tell({ kind: 'pool', pool: id, settings });
    return id;
  }

  forgetPool(id: number): void {
    this.pools.delete(id);
  }

  /**
   * A request that is answered; fails at once when the thread has stopped. The thread holds the
   * process open while an answer is awaited, and only then: a pool left open (a start that failed
   * before TypeORM could end it) never keeps a process from exiting.
   */
  ask(request: Extract<PgRequest, { id: number }>): Promise<PgReply> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(request.id, { resolve, reject });
      this.worker.postMessage(request);
    });
  }

  tell(request: Exclude<PgRequest, { id: number }>): void {
    if (!this.stopped) this.worker.postMessage(request);
  }

  newId(): number {
    return this.nextId++;
  }

  private settle(reply: PgReply): void {
    if (reply.kind === 'poolError' || reply.kind === 'connectionFailed') {
      this.pools.get(reply.pool)?.heard(reply.kind, fromFailure(reply.failure));
      return;
    }
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.kind === 'failed') waiting.reject(fromFailure(reply.failure));
    else waiting.resolve(reply);
  }

  private stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = reason;
    for (const waiting of this.pending.values()) waiting.reject(reason);
    this.pending.clear();
    for (const pool of this.pools.values()) pool.heard('poolError', reason);
  }
}

type Callback = (error: Error | null, result?: QueryResult | QueryResult[]) => void;

/** The part of a `pg` client that TypeORM's postgres driver uses: statements on one connection of the thread's pool. */
class ThreadClient extends EventEmitter {
  constructor(
    private readonly thread: PgThread,
    readonly id: number,
  ) {
    super();
  }

  query(
    textOrConfig: string | { text: string; values?: unknown[] },
    paramsOrCallback?: unknown[] | Callback,
    callback?: Callback,
  ): Promise<QueryResult | QueryResult[]> | undefined {
    const text = typeof textOrConfig === 'string' ? textOrConfig : textOrConfig.text;
    const params = Array.isArray(paramsOrCallback)
      ? paramsOrCallback
      : typeof textOrConfig === 'string'
        ? undefined
        : textOrConfig.values;
    const done = typeof paramsOrCallback === 'function' ? paramsOrCallback : callback;
    const running = this.thread
      .ask({ kind: 'query', id: this.thread.newId(), client: this.id, text, params })
      .then((reply) => (reply as Extract<PgReply, { kind: 'done' }>).result as QueryResult | QueryResult[]);
    if (!done) return running;
    running.then(
      (result) => done(null, result),
      (error: Error) => done(error),
    );
    return undefined;
  }
}

type ConnectCallback = (error: Error | null, client?: ThreadClient, release?: (error?: unknown) => void) => void;

/**
 * A `pg.Pool` look-alike whose pool, connections and statements are in the driver's thread. A
 * connection handed out stays the caller's until it is released, so a transaction's statements all
 * run on it. Errors come back as `pg` gives them, with PostgreSQL's fields (code, constraint …).
 */
class ThreadPool extends EventEmitter {
  private thread: PgThread;
  private id: number;
  private ended = false;

  constructor(
    private readonly settings: PoolSettings,
    private readonly connectionFailed: (error: Error) => void,
  ) {
    super();
    this.thread = PgThread.get();
    this.id = this.thread.addPool(this, settings);
  }

  connect(): Promise<ThreadClient>;
  connect(callback: ConnectCallback): void;
  connect(callback?: ConnectCallback): Promise<ThreadClient> | void {
    const connecting = this.checkOut();
    if (!callback) return connecting.then(({ client }) => client);
    connecting.then(
      ({ client, release }) => callback(null, client, release),
      (error: Error) => callback(error),
    );
  }

  end(callback?: (error?: Error) => void): Promise<void> | void {
    const ending = this.finish();
    if (!callback) return ending;
    ending.then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }

  /** An error or failed connection reported by the thread, passed on as `pg` would. */
  heard(kind: 'poolError' | 'connectionFailed', error: Error): void {
    if (kind === 'connectionFailed') this.connectionFailed(error);
    else if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private async checkOut(): Promise<{ client: ThreadClient; release: (error?: unknown) => void }> {
    if (this.ended) throw new Error('the connection pool is closed');
    if (!this.thread.alive) {
      // The thread stopped under this pool: its pool is made again in a new one.
      this.thread.forgetPool(this.id);
      this.thread = PgThread.get();
      this.id = this.thread.addPool(this, this.settings);
    }
    const thread = this.thread;
    const reply = await thread.ask({ kind: 'connect', id: thread.newId(), pool: this.id });
    if (reply.kind !== 'connected') throw new Error("the PostgreSQL driver's thread did not hand out a connection");
    const client = new ThreadClient(thread, reply.client);
    let released = false;
    const release = (error?: unknown) => {
      if (released) return;
      released = true;
      thread.tell({ kind: 'release', client: client.id, destroy: Boolean(error) });
    };
    return { client, release };
  }

  private async finish(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const thread = this.thread;
    try {
      if (thread.alive) await thread.ask({ kind: 'end', id: thread.newId(), pool: this.id });
    } finally {
      thread.forgetPool(this.id);
    }
  }
}

/**
 * Starts the driver's thread ahead, when the configuration names PostgreSQL: Node.js starts it and it
 * loads `pg` on the other core while this one loads the server's modules. The first pool takes it.
 * Until then it does not keep the process alive.
 */
export function preparePgThread(): void {
  PgThread.get();
}

export interface PgThreadDriverOptions {
  /** `host:port` of the PostgreSQL server, for messages. */
  readonly server: string;
  /** Called with each connection the pool fails to open. */
  readonly connectionFailed?: (error: Error) => void;
}

/** `pg`'s pool options as plain data; an option that is a function cannot cross to the thread. */
function plainConfig(config: Record<string, unknown> = {}): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === 'function')
      throw new Error(`the PostgreSQL option ${key} is a function, which the driver's thread cannot be given`);
    if (value !== undefined) plain[key] = value;
  }
  return plain;
}

/**
 * A driver module for TypeORM's postgres driver (`driver` option): `pg`, with the pool of
 * `observed-pg.ts` (connection failures reported and explained, unanswered connections dropped),
 * running in the driver's thread.
 */
export function pgThreadDriver({ server, connectionFailed = () => undefined }: PgThreadDriverOptions): {
  Pool: new (config?: Record<string, unknown>) => ThreadPool;
} {
  return {
    Pool: class extends ThreadPool {
      constructor(config?: Record<string, unknown>) {
        super({ server, config: plainConfig(config) }, connectionFailed);
      }
    },
  };
}
