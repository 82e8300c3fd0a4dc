import { EventEmitter } from 'node:events';
import { EmbeddedDatabase, openEmbeddedDatabase, Progress } from './embedded-database';
import { QueryResult } from './embedded-messages';
import { EmbeddedThread } from './embedded-thread';

type Callback = (error: Error | null, result?: QueryResult) => void;

/** First come, first served: one holder at a time. */
class FifoLock {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((done) => (release = done));
    const acquired = this.tail.then(() => once(release));
    this.tail = this.tail.then(() => released);
    return acquired;
  }
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      action();
    }
  };
}

/** The part of a `pg` client that TypeORM's postgres driver uses. */
class PGliteClient extends EventEmitter {
  constructor(private readonly thread: Promise<EmbeddedThread>) {
    super();
  }

  query(text: string, paramsOrCallback?: unknown[] | Callback, callback?: Callback): Promise<QueryResult> | undefined {
    const params = Array.isArray(paramsOrCallback) ? paramsOrCallback : undefined;
    const done = typeof paramsOrCallback === 'function' ? paramsOrCallback : callback;
    const running = this.run(text, params);
    if (!done) return running;
    running.then(
      (result) => done(null, result),
      (error: Error) => done(error),
    );
    return undefined;
  }

  private async run(text: string, params: unknown[] | undefined): Promise<QueryResult> {
    const thread = await this.thread;
    // Without parameters the simple protocol runs, which also accepts several statements.
    return params && params.length > 0 ? thread.query(text, params) : thread.exec(text);
  }
}

/**
 * A `pg.Pool` look-alike over one PGlite database in its own thread. PGlite has a single session, so the
 * pool hands out that one connection to one holder at a time, in order: a transaction keeps it
 * until it commits or rolls back, and nothing else can slip a statement into it.
 */
class PGlitePool extends EventEmitter {
  private readonly opened: Promise<EmbeddedDatabase>;
  private readonly thread: Promise<EmbeddedThread>;
  private readonly lock = new FifoLock();
  private readonly client: PGliteClient;
  private ended = false;

  constructor(dataDir: string, progress?: Progress, template?: string) {
    super();
    this.opened = openEmbeddedDatabase(dataDir, progress, template);
    this.thread = this.opened.then(({ thread }) => {
      // A database that stops by itself (PostgreSQL aborted) fails every statement from then on.
      thread.onStop((reason) => {
        if (this.listenerCount('error') > 0) this.emit('error', reason);
      });
      return thread;
    });
    // Reported through connect(); this keeps a failed start from being an unhandled rejection.
    this.thread.catch(() => undefined);
    this.client = new PGliteClient(this.thread);
  }

  connect(callback: (error: Error | null, client?: PGliteClient, release?: () => void) => void): void {
    if (this.ended) {
      callback(new Error('the embedded database is closed'));
      return;
    }
    Promise.all([this.thread, this.lock.acquire()]).then(
      ([, release]) => callback(null, this.client, release),
      (error: Error) => callback(error),
    );
  }

  end(callback: (error?: Error) => void): void {
    if (this.ended) {
      callback();
      return;
    }
    this.ended = true;
    this.lock
      .acquire()
      .then(async () => {
        const { thread, lock } = await this.opened;
        try {
          await thread.close();
        } finally {
          await lock.release();
        }
      })
      .then(
        () => callback(),
        (error: Error) => callback(error),
      );
  }
}

/**
 * A driver module for TypeORM's postgres driver (`driver` option) backed by PGlite in `dataDir`,
 * telling `progress` what it does at start; a new database is copied from `template` (the
 * installation's when unset).
 */
export function pgliteDriver(dataDir: string, progress?: Progress, template?: string): { Pool: new () => PGlitePool } {
  return {
    Pool: class extends PGlitePool {
      constructor() {
        super(dataDir, progress, template);
      }
    },
  };
}
