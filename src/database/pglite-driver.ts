import { PGlite, Results } from '@electric-sql/pglite';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { EmbeddedDatabase, openEmbeddedDatabase, Progress } from './embedded-database';

type Callback = (error: Error | null, result?: QueryResult) => void;

interface QueryResult {
  rows: unknown[];
  rowCount: number;
  command?: string;
  fields: Results['fields'];
}

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

function toQueryResult(result: Results): QueryResult {
  const counted = result as Results & { rowCount?: number; command?: string };
  return {
    rows: result.rows,
    rowCount: counted.rowCount ?? result.affectedRows ?? result.rows.length,
    command: counted.command,
    fields: result.fields,
  };
}

/** How long statements may run back to back before the event loop gets a turn. */
const SLICE_MS = 5;
let sliceStarted = performance.now();

/** The part of a `pg` client that TypeORM's postgres driver uses. */
class PGliteClient extends EventEmitter {
  constructor(private readonly database: Promise<PGlite>) {
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
    const database = await this.database;
    // PGlite runs a statement synchronously on this thread. Once statements have held the event
    // loop for a slice, the next one waits for a turn of its own, so a burst of queries (a login
    // storm) cannot hold up sockets and timers for long.
    if (performance.now() - sliceStarted >= SLICE_MS) {
      await new Promise((next) => setImmediate(next));
      sliceStarted = performance.now();
    }
    if (params && params.length > 0) return toQueryResult(await database.query(text, params));
    // Without parameters the simple protocol runs, which also accepts several statements.
    const results = await database.exec(text);
    return toQueryResult(results[results.length - 1] ?? { rows: [], fields: [], affectedRows: 0 });
  }
}

/**
 * A `pg.Pool` look-alike over one in-process PGlite database. PGlite has a single session, so the
 * pool hands out that one connection to one holder at a time, in order: a transaction keeps it
 * until it commits or rolls back, and nothing else can slip a statement into it.
 */
class PGlitePool extends EventEmitter {
  private readonly opened: Promise<EmbeddedDatabase>;
  private readonly database: Promise<PGlite>;
  private readonly lock = new FifoLock();
  private readonly client: PGliteClient;
  private ended = false;

  constructor(dataDir: string, progress?: Progress) {
    super();
    this.opened = openEmbeddedDatabase(dataDir, progress);
    this.database = this.opened.then(({ database }) => database);
    // Reported through connect(); this keeps a failed start from being an unhandled rejection.
    this.database.catch(() => undefined);
    this.client = new PGliteClient(this.database);
  }

  connect(callback: (error: Error | null, client?: PGliteClient, release?: () => void) => void): void {
    if (this.ended) {
      callback(new Error('the embedded database is closed'));
      return;
    }
    Promise.all([this.database, this.lock.acquire()]).then(
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
        const { database, lock } = await this.opened;
        try {
          await database.close();
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
 * telling `progress` what it does at start.
 */
export function pgliteDriver(dataDir: string, progress?: Progress): { Pool: new () => PGlitePool } {
  return {
    Pool: class extends PGlitePool {
      constructor() {
        super(dataDir, progress);
      }
    },
  };
}
