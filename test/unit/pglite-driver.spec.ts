import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { threadModules } from '../../src/database/embedded-thread';
import { pgliteDriver } from '../../src/database/pglite-driver';

/** The pool's types are not exported; these describe what the tests use. */
interface Result {
  rows: Array<Record<string, unknown>>;
  rowCount: number;
  command?: string;
  fields: Array<{ name: string }>;
}
type Callback = (error: Error | null, result?: Result) => void;
interface Client {
  query(text: string, params?: unknown[]): Promise<Result>;
  query(text: string, callback: Callback): undefined;
  query(text: string, params: unknown[], callback: Callback): undefined;
}
interface Pool {
  connect(callback: (error: Error | null, client?: Client, release?: () => void) => void): void;
  end(callback: (error?: Error) => void): void;
}
interface Held {
  client: Client;
  release: () => void;
}

// Global setup leaves a migrated embedded database; copying it starts faster than a fresh initdb.
const TEMPLATE_ENV = 'CHAT_TEST_PGLITE_TEMPLATE';

const dirs: string[] = [];
let pool: Pool;
let poolClient: Client;
let closing: Promise<void> | undefined;

/** Ends the shared pool once; later calls wait for the same end. */
function endOnce(): Promise<void> {
  closing ??= end();
  return closing;
}

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-pglite-unit-'));
  dirs.push(dir);
  const template = process.env[TEMPLATE_ENV];
  if (template) cpSync(template, dir, { recursive: true });
  return dir;
}

function connect(target: Pool = pool): Promise<Held> {
  return new Promise((resolve, reject) =>
    target.connect((error, client, release) => {
      if (error) reject(error);
      else resolve({ client: client as Client, release: release as () => void });
    }),
  );
}

function end(target: Pool = pool): Promise<void> {
  return new Promise((resolve, reject) => target.end((error) => (error ? reject(error) : resolve())));
}

function queryWithCallback(client: Client, text: string, params?: unknown[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const callback: Callback = (error, result) => (error ? reject(error) : resolve(result as Result));
    const returned = params === undefined ? client.query(text, callback) : client.query(text, params, callback);
    expect(returned).toBeUndefined();
  });
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  return settled;
}

async function withClient<T>(use: (client: Client) => Promise<T>): Promise<T> {
  const { client, release } = await connect();
  try {
    return await use(client);
  } finally {
    release();
  }
}

beforeAll(async () => {
  const { Pool } = pgliteDriver(newDataDir());
  pool = new Pool() as unknown as Pool;
  await withClient(async (client) => {
    poolClient = client;
    await client.query('CREATE TABLE unit_rows (name text PRIMARY KEY)');
  });
}, 30_000);

afterAll(async () => {
  await endOnce();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('pgliteDriver', () => {
  describe('queries', () => {
    it('hands out a client through the callback API of connect', async () => {
      const held = await connect();
      held.release();
      expect(typeof held.client.query).toBe('function');
    });

    it('runs a query without parameters through a callback', async () => {
      const result = await withClient((client) => queryWithCallback(client, 'SELECT 1 AS x'));
      expect(result.rows).toEqual([{ x: 1 }]);
    });

    it('runs a query with parameters through a callback', async () => {
      const result = await withClient((client) => queryWithCallback(client, 'SELECT $1::int AS x', [1]));
      expect(result.rows).toEqual([{ x: 1 }]);
    });

    it('returns a promise when no callback is given', async () => {
      const result = await withClient((client) => client.query('SELECT $1::text AS x', ['日本語']));
      expect(result.rows).toEqual([{ x: '日本語' }]);
    });

    it('lets timers and sockets run during a long burst of statements', async () => {
      // Each statement runs synchronously; a burst must not hold the event loop for its whole length.
      const ticks: number[] = [];
      let finished = 0;
      const ticker = setInterval(() => ticks.push(finished), 1);
      // As TypeORM runs them: each statement takes the connection from the pool, runs, gives it back.
      await Promise.all(
        Array.from({ length: 2000 }, (_, index) =>
          withClient((client) => client.query('SELECT $1::int AS x', [index])).then(() => finished++),
        ),
      );
      clearInterval(ticker);
      expect(finished).toBe(2000);
      // The burst lasts many slices: the timer ran in between its statements several times.
      expect(ticks.filter((done) => done > 0 && done < 2000).length).toBeGreaterThan(1);
    });

    it('reports the row count and the fields of a SELECT', async () => {
      const result = await withClient((client) => client.query('SELECT 1 AS x UNION ALL SELECT 2'));
      expect([result.rowCount, result.fields.map((field) => field.name)]).toEqual([2, ['x']]);
    });

    it('runs a query with an empty parameter list like one without parameters', async () => {
      const result = await withClient((client) => client.query('SELECT 1 AS x', []));
      expect(result.rows).toEqual([{ x: 1 }]);
    });

    it('runs several statements without parameters and returns the result of the last one', async () => {
      const result = await withClient((client) => client.query('SELECT 1 AS a; SELECT 2 AS b'));
      expect(result.rows).toEqual([{ b: 2 }]);
    });

    it('runs several statements without parameters in order, each seeing the effect of the one before', async () => {
      const result = await withClient((client) =>
        client.query(
          'CREATE TEMP TABLE multi2 (n int); INSERT INTO multi2 VALUES (1), (2); SELECT count(*)::int AS n FROM multi2',
        ),
      );
      expect(result.rows).toEqual([{ n: 2 }]);
    });

    it('reports the affected row count of a parameterised INSERT', async () => {
      const result = await withClient((client) =>
        client.query('INSERT INTO unit_rows (name) VALUES ($1), ($2)', ['count-1', 'count-2']),
      );
      expect(result.rowCount).toBe(2);
    });

    it('reports the command tag of a statement', async () => {
      const result = await withClient((client) => client.query('INSERT INTO unit_rows (name) VALUES ($1)', ['tagged']));
      expect(result.command).toBe('INSERT');
    });

    it('reports the affected row count of an UPDATE without parameters', async () => {
      const result = await withClient(async (client) => {
        await client.query("INSERT INTO unit_rows (name) VALUES ('upd-1'), ('upd-2'), ('upd-3')");
        return client.query("UPDATE unit_rows SET name = name || '!' WHERE name LIKE 'upd-%'");
      });
      expect(result.rowCount).toBe(3);
    });

    it('returns an empty result for a text with no statement', async () => {
      const result = await withClient((client) => client.query(''));
      expect([result.rows, result.rowCount]).toEqual([[], 0]);
    });

    it('passes an SQL error to the callback', async () => {
      const outcome = withClient((client) => queryWithCallback(client, 'SELECT * FROM no_such_table'));
      await expect(outcome).rejects.toThrow(/no_such_table/);
    });

    it('passes an SQL error of a parameterised query to the callback', async () => {
      const outcome = withClient((client) => queryWithCallback(client, 'SELECT $1::int AS x', ['not a number']));
      await expect(outcome).rejects.toThrow(/invalid input syntax/);
    });

    it('rejects the promise of a failed query', async () => {
      await expect(withClient((client) => client.query('SELEC 1'))).rejects.toThrow(/syntax error/);
    });

    it('keeps the connection usable after a failed query', async () => {
      await withClient((client) => client.query('SELEC 1')).catch(() => undefined);
      const result = await withClient((client) => client.query('SELECT 2 AS y'));
      expect(result.rows).toEqual([{ y: 2 }]);
    });
  });

  describe('one holder at a time', () => {
    it('does not give the connection to a second connect() until the first holder releases it', async () => {
      const first = await connect();
      const second = connect();
      try {
        expect(await settlesWithin(second, 50)).toBe(false);
      } finally {
        first.release();
        (await second).release();
      }
    });

    it('gives the connection to the second connect() once the first holder releases it', async () => {
      const first = await connect();
      const second = connect();
      first.release();
      const held = await second;
      held.release();
      expect(held.client).toBe(first.client);
    });

    it('hands the connection out in the order connect() was called', async () => {
      const order: string[] = [];
      const first = await connect();
      const waiting = ['b', 'c', 'd'].map((name) =>
        connect().then(async (held) => {
          order.push(name);
          await new Promise((resolve) => setTimeout(resolve, 5));
          held.release();
        }),
      );
      first.release();
      await Promise.all(waiting);
      expect(order).toEqual(['b', 'c', 'd']);
    });

    it('ignores a second release by the same holder', async () => {
      const first = await connect();
      first.release();
      const second = await connect();
      first.release();
      const third = connect();
      try {
        expect(await settlesWithin(third, 50)).toBe(false);
      } finally {
        second.release();
        (await third).release();
      }
    });

    it('keeps a transaction to its holder: a ROLLBACK does not erase a row another holder wrote meanwhile', async () => {
      const first = await connect();
      await first.client.query('BEGIN');
      const other = connect().then(async ({ client, release }) => {
        try {
          await client.query('INSERT INTO unit_rows (name) VALUES ($1)', ['committed-by-other']);
        } finally {
          release();
        }
      });
      await first.client.query('INSERT INTO unit_rows (name) VALUES ($1)', ['rolled-back']);
      await first.client.query('ROLLBACK');
      first.release();
      await other;
      const result = await withClient((client) =>
        client.query("SELECT name FROM unit_rows WHERE name IN ('committed-by-other', 'rolled-back') ORDER BY name"),
      );
      expect(result.rows).toEqual([{ name: 'committed-by-other' }]);
    });

    it('keeps a row a holder committed when the next holder rolls back its own transaction', async () => {
      await withClient(async (client) => {
        await client.query('BEGIN');
        await client.query('INSERT INTO unit_rows (name) VALUES ($1)', ['committed-first']);
        await client.query('COMMIT');
      });
      await withClient(async (client) => {
        await client.query('BEGIN');
        await client.query('INSERT INTO unit_rows (name) VALUES ($1)', ['rolled-back-second']);
        await client.query('ROLLBACK');
      });
      const result = await withClient((client) =>
        client.query("SELECT name FROM unit_rows WHERE name IN ('committed-first', 'rolled-back-second')"),
      );
      expect(result.rows).toEqual([{ name: 'committed-first' }]);
    });
  });

  describe('start failure', () => {
    it('passes a database that cannot start to the connect() callback', async () => {
      const parent = mkdtempSync(join(tmpdir(), 'chat-pglite-bad-'));
      dirs.push(parent);
      const notADirectory = join(parent, 'file');
      writeFileSync(notADirectory, 'x');
      const { Pool } = pgliteDriver(join(notADirectory, 'data'));
      const broken = new Pool() as unknown as Pool;
      await expect(connect(broken)).rejects.toThrow();
    });
  });

  describe('a database that stops by itself', () => {
    it("fails the statement under way and the pool emits 'error' for TypeORM to log", async () => {
      const real = threadModules.pglite;
      threadModules.pglite = require.resolve('./support/crashing-pglite');
      const { Pool } = pgliteDriver(newDataDir());
      const crashing = new Pool() as unknown as Pool & EventEmitter;
      const errors: Error[] = [];
      crashing.on('error', (error: Error) => errors.push(error));
      const { client, release } = await connect(crashing).finally(() => (threadModules.pglite = real));
      try {
        await expect(client.query("SELECT 'crash'")).rejects.toThrow('the embedded database stopped');
        await expect(client.query('SELECT 1')).rejects.toThrow('the embedded database stopped');
        expect(errors.map((error) => error.message)).toEqual(['the embedded database stopped (its thread exited with code 3)']);
      } finally {
        release();
        await end(crashing);
      }
    });
  });

  describe('end', () => {
    it('waits for the current holder before closing', async () => {
      const holder = await connect();
      const closing = endOnce();
      try {
        expect(await settlesWithin(closing, 50)).toBe(false);
      } finally {
        holder.release();
        await closing;
      }
    });

    it('closes the database: the client handed out before can no longer query', async () => {
      await endOnce();
      await expect(poolClient.query('SELECT 1')).rejects.toThrow();
    });

    // pg.Pool reports "Cannot use a pool after calling end on the pool"; here the callback is never called.
    it('reports an error to a connect() after end() instead of never answering', async () => {
      await endOnce();
      expect(await settlesWithin(connect(), 100)).toBe(true);
    });
  });
});
