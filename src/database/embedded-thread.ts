import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BuildPlan, Built } from './embedded-build';
import { fromFailure, OpenRequest, QueryResult, Reply, Request, ThreadOptions } from './embedded-messages';
import { plainFailure } from './plain-failure';
import { threadScript } from './thread-script';

/**
 * PostgreSQL's settings for the embedded database, on top of PGlite's. PostgreSQL's shared memory
 * is part of PGlite's WebAssembly memory and touched at start, so every megabyte set here is one
 * the server holds from its start:
 * - buffers default to 128 MB; a chat server's hot pages (the accounts' and channels' indexes, the
 *   last pages of their tables) fit in 4 MB, and the operating system caches the rest of the files;
 * - the WAL's buffers: a statement of the chat writes a few kilobytes of WAL;
 * - PGlite serves one session, but PostgreSQL sizes its process and lock arrays for 100
 *   connections (about 3 MB); five leave the reserved superuser slots their room.
 * Locks per transaction keep their default, which a migration's transaction needs.
 */
export const START_PARAMS: readonly string[] = ['-c', 'shared_buffers=4MB', '-c', 'wal_buffers=256kB', '-c', 'max_connections=5'];

/**
 * The thread's young generation, where a statement's objects (its parameters, PGlite's messages,
 * the rows) live and die, is kept at 2 MB instead of growing to V8's default of up to 48 MB.
 * V8 grows it under a burst of statements and gives it back only in a later full collection:
 * after a login storm of 10,000 users the server held 6.5–7.0 KB more per connection than on
 * PostgreSQL, 3.3 KB with this and the collection when idle (`idle-collection.ts`). The login
 * storm's rate and the start did not move.
 */
const THREAD_HEAP = { maxYoungGenerationSizeMb: 2 };

/** PostgreSQL's WebAssembly and file bundle, in the PGlite package (not a stand-in's). */
function postgresCode(): ThreadOptions['code'] {
  const folder = dirname(require.resolve('@electric-sql/pglite'));
  return { wasm: join(folder, 'pglite.wasm'), initdb: join(folder, 'initdb.wasm'), data: join(folder, 'pglite.data') };
}

/** Which module the thread loads PGlite from, and the code it reads ahead; tests put stand-ins here. */
export const threadModules: { pglite: string; code: ThreadOptions['code'] } = {
  pglite: require.resolve('@electric-sql/pglite'),
  code: postgresCode(),
};

function startThread(): Worker {
  const { file, execArgv } = threadScript('embedded-worker');
  const options: ThreadOptions = { pglite: threadModules.pglite, code: threadModules.code };
  return new Worker(file, { workerData: options, execArgv, resourceLimits: THREAD_HEAP });
}

/** A thread started ahead, loading PostgreSQL's code, that the next open takes. */
let prepared: Worker | undefined;

/**
 * Starts a thread ahead of the configuration: Node.js starts it, and it loads PGlite and compiles
 * PostgreSQL's code, on another core while this one reads the configuration and loads the server's
 * modules. The first `EmbeddedThread.open` takes it. Until then it does not keep the process alive.
 */
export function prepareEmbeddedThread(): void {
  if (prepared) return;
  const worker = startThread();
  worker.unref();
  const forget = () => {
    if (prepared === worker) prepared = undefined;
  };
  worker.once('error', forget);
  worker.once('exit', forget);
  prepared = worker;
}

/** Ends the thread started ahead when no embedded database is wanted after all (PostgreSQL is configured). */
export async function discardPreparedThread(): Promise<void> {
  const worker = prepared;
  prepared = undefined;
  await worker?.terminate();
}

/** The thread started ahead, if it is still there, or a new one. */
function takeThread(): Worker {
  const worker = prepared ?? startThread();
  prepared = undefined;
  worker.ref();
  return worker;
}

type Pending = { resolve: (result: QueryResult | undefined) => void; reject: (error: Error) => void };

/**
 * The embedded database running in a thread of its own, opened on a folder that holds a
 * database. Statements go to it as messages and come back in order. If the thread ends on its
 * own (PostgreSQL aborted), every statement waiting fails at once, later ones fail at once, and
 * `onStop` listeners hear why.
 */
export class EmbeddedThread {
  private readonly pending = new Map<number, Pending>();
  private readonly stopListeners: Array<(reason: Error) => void> = [];
  private nextId = 1;
  private stopped: Error | undefined;
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    /** How long the thread took to build (if it did) and open the database, from the open request. */
    readonly startMs: number,
    /** How a new database was made; unset when the folder held one. */
    readonly built: Built | undefined,
  ) {
    worker.on('message', (reply: Reply) => this.settle(reply));
    worker.on('error', (error) =>
      this.stop(new Error(`the embedded database stopped: ${plainFailure(error)}`, { cause: error })),
    );
    worker.on('exit', (code) => this.stop(new Error(`the embedded database stopped (its thread exited with code ${code})`)));
  }

  /**
   * Starts the thread and resolves once PostgreSQL in it is open, after making the database as
   * `build` says when there is none yet; rejects with the reason it could not.
   */
  static open(folder: string, build?: BuildPlan): Promise<EmbeddedThread> {
    const worker = takeThread();
    const request: OpenRequest = { kind: 'open', folder, build, startParams: START_PARAMS };
    return new Promise((resolve, reject) => {
      const opening = (reply: Reply) => {
        if (reply.kind === 'open') {
          stopWaiting();
          resolve(new EmbeddedThread(worker, reply.startMs, reply.built));
        } else if (reply.kind === 'failed') {
          fail(fromFailure(reply.failure));
        }
      };
      const exited = (code: number) => fail(new Error(`the embedded database's thread exited with code ${code} while opening`));
      const stopWaiting = () => {
        worker.off('message', opening);
        worker.off('error', fail);
        worker.off('exit', exited);
      };
      function fail(error: Error): void {
        stopWaiting();
        void worker.terminate();
        reject(error);
      }
      worker.on('message', opening);
      worker.on('error', fail);
      worker.on('exit', exited);
      worker.postMessage(request);
    });
  }

  /** A statement with parameters. */
  query(text: string, params: readonly unknown[]): Promise<QueryResult> {
    return this.ask({ kind: 'query', id: this.nextId++, text, params }) as Promise<QueryResult>;
  }

  /** Statements without parameters, several allowed; the last one's result. */
  exec(text: string): Promise<QueryResult> {
    return this.ask({ kind: 'exec', id: this.nextId++, text }) as Promise<QueryResult>;
  }

  /** Closes the database after the statements already sent, and ends the thread. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.closing = true;
    try {
      await this.ask({ kind: 'close', id: this.nextId++ });
    } finally {
      await this.worker.terminate();
    }
  }

  onStop(listener: (reason: Error) => void): void {
    this.stopListeners.push(listener);
  }

  private ask(request: Request): Promise<QueryResult | undefined> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      this.worker.postMessage(request);
    });
  }

  private settle(reply: Reply): void {
    if (reply.kind === 'open' || reply.id === undefined) return;
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (reply.kind === 'done') waiting.resolve(reply.result);
    else waiting.reject(fromFailure(reply.failure));
  }

  private stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = this.closing ? new Error('the embedded database is closed') : reason;
    for (const waiting of this.pending.values()) waiting.reject(this.stopped);
    this.pending.clear();
    if (!this.closing) for (const listener of this.stopListeners) listener(reason);
  }
}
