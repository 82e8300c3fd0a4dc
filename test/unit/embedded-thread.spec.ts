import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFailure, toFailure } from '../../src/database/embedded-messages';
import { discardPreparedThread, EmbeddedThread, prepareEmbeddedThread, threadModules } from '../../src/database/embedded-thread';
import { errorCodeOf, isWriteFailure, plainFailure } from '../../src/database/plain-failure';

// Global setup leaves a migrated embedded database; copying it starts faster than a fresh initdb.
const TEMPLATE_ENV = 'CHAT_TEST_PGLITE_TEMPLATE';
const REAL_PGLITE = threadModules.pglite;
const REAL_CODE = threadModules.code;
const dirs: string[] = [];
const threads: EmbeddedThread[] = [];

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-thread-unit-'));
  dirs.push(dir);
  cpSync(process.env[TEMPLATE_ENV] as string, dir, { recursive: true });
  return dir;
}

async function open(pglite = REAL_PGLITE): Promise<EmbeddedThread> {
  threadModules.pglite = pglite;
  try {
    const thread = await EmbeddedThread.open(dataDir());
    threads.push(thread);
    return thread;
  } finally {
    threadModules.pglite = REAL_PGLITE;
  }
}

afterAll(async () => {
  for (const thread of threads) await thread.close().catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('failures crossing threads', () => {
  test("an Error keeps its message, name and PostgreSQL's fields", () => {
    const error = Object.assign(new Error('duplicate key value'), { code: '23505', constraint: 'users_pkey', position: 7 });
    const back = fromFailure(toFailure(error)) as Error & Record<string, unknown>;
    expect(back).toBeInstanceOf(Error);
    expect(back.message).toBe('duplicate key value');
    expect(back).toMatchObject({ code: '23505', constraint: 'users_pkey', position: 7 });
  });

  test("a timed-out connection's marks come along: its code, and that it went unanswered", () => {
    const error = Object.assign(new Error('no answer from PostgreSQL at db:5432 within 500 ms'), {
      code: 'ETIMEDOUT',
      unanswered: true,
      handler: () => undefined,
    });
    const back = fromFailure(toFailure(error)) as Error & Record<string, unknown>;
    expect(back).toMatchObject({ code: 'ETIMEDOUT', unanswered: true });
    expect(back).not.toHaveProperty('handler');
  });

  test('a plain object thrown by the file system is an Error in words on this side', () => {
    const back = fromFailure(toFailure({ name: 'ErrnoError', errno: 51 }));
    expect(back.name).toBe('ErrnoError');
    expect(errorCodeOf(back)).toBe('ENOSPC');
    expect(isWriteFailure(back)).toBe(true);
    expect(plainFailure(back)).toBe('no space left on device (ENOSPC)');
  });

  test('causes come along, and a string thrown is its message', () => {
    const back = fromFailure(toFailure(new Error('outer', { cause: { name: 'ErrnoError', errno: 44 } })));
    expect(plainFailure(back)).toBe('outer: no such file or directory (ENOENT)');
    expect(fromFailure(toFailure('plain words')).message).toBe('plain words');
  });
});

describe('EmbeddedThread', () => {
  test('answers statements with and without parameters, in the shape pg gives', async () => {
    const thread = await open();
    expect(thread.startMs).toBeGreaterThan(0);
    expect(thread.built).toBeUndefined();
    await expect(thread.exec('SELECT 1 AS x; SELECT 2 AS y')).resolves.toMatchObject({
      rows: [{ y: 2 }],
      rowCount: 1,
      command: 'SELECT',
    });
    const result = await thread.query('SELECT $1::int AS n, $2::text AS t', [5, 'five']);
    expect(result.rows).toEqual([{ n: 5, t: 'five' }]);
    expect(result.fields.map((field) => field.name)).toEqual(['n', 't']);
  });

  test("a failed statement rejects with PostgreSQL's code and the next one runs", async () => {
    const thread = await open();
    await expect(thread.query('SELECT 1 / $1::int', [0])).rejects.toMatchObject({ code: '22012', message: 'division by zero' });
    await expect(thread.exec('SELECT 3 AS z')).resolves.toMatchObject({ rows: [{ z: 3 }] });
  });

  test('statements sent together are answered in order', async () => {
    const thread = await open();
    await thread.exec('CREATE TABLE ordered (n int)');
    const inserts = Array.from({ length: 50 }, (_, n) => thread.query('INSERT INTO ordered VALUES ($1)', [n]));
    const read = thread.exec('SELECT count(*)::int AS c FROM ordered');
    await Promise.all(inserts);
    await expect(read).resolves.toMatchObject({ rows: [{ c: 50 }] });
  });

  test('a thread that ends by itself fails what waits and what follows, at once, and says why', async () => {
    const thread = await open(require.resolve('./support/crashing-pglite'));
    const reasons: Error[] = [];
    thread.onStop((reason) => reasons.push(reason));
    await expect(thread.exec("SELECT 'fail'")).rejects.toMatchObject({ code: '23505', constraint: 'users_pkey' });
    await expect(thread.exec("SELECT 'crash'")).rejects.toThrow('the embedded database stopped (its thread exited with code 3)');
    await expect(thread.query('SELECT $1::int', [1])).rejects.toThrow('the embedded database stopped');
    expect(reasons.map((reason) => reason.message)).toEqual(['the embedded database stopped (its thread exited with code 3)']);
  });

  test('a database that cannot be opened rejects with the cause in words, and no thread stays', async () => {
    threadModules.pglite = require.resolve('./support/full-disk-pglite');
    try {
      const failure = await EmbeddedThread.open(dataDir()).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(failure && plainFailure(failure)).toBe('no space left on device (ENOSPC)');
    } finally {
      threadModules.pglite = REAL_PGLITE;
    }
  });

  test('close ends the thread; statements after it fail at once', async () => {
    const thread = await open();
    await thread.close();
    await expect(thread.exec('SELECT 1')).rejects.toThrow('the embedded database is closed');
  });
});

describe('a thread started ahead', () => {
  afterEach(async () => {
    threadModules.pglite = REAL_PGLITE;
    threadModules.code = REAL_CODE;
    await discardPreparedThread();
  });

  async function opening(): Promise<Error | undefined> {
    let thread: EmbeddedThread;
    try {
      thread = await EmbeddedThread.open(dataDir());
    } catch (error) {
      return error as Error;
    }
    threads.push(thread);
    await expect(thread.exec('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    return undefined;
  }

  test('is the one the next open takes, with the modules it was started with', async () => {
    threadModules.pglite = require.resolve('./support/full-disk-pglite');
    prepareEmbeddedThread();
    threadModules.pglite = REAL_PGLITE;
    const failure = await opening();
    expect(failure && plainFailure(failure)).toBe('no space left on device (ENOSPC)');
    // Taken once: the open after it starts a thread of its own.
    await expect(opening()).resolves.toBeUndefined();
  });

  test('opens the database with the code it read ahead', async () => {
    prepareEmbeddedThread();
    await expect(opening()).resolves.toBeUndefined();
  });

  test('whose code cannot be read ahead leaves the reading to PGlite', async () => {
    const missing = join(tmpdir(), 'chat-thread-unit-missing');
    threadModules.code = {
      wasm: join(missing, 'pglite.wasm'),
      initdb: join(missing, 'initdb.wasm'),
      data: join(missing, 'pglite.data'),
    };
    prepareEmbeddedThread();
    await expect(opening()).resolves.toBeUndefined();
  });

  test('that cannot load PGlite fails the open with the reason, whenever the open comes', async () => {
    threadModules.pglite = join(tmpdir(), 'chat-thread-unit-missing', 'pglite.js');
    prepareEmbeddedThread();
    threadModules.pglite = REAL_PGLITE;
    // Long enough for the import to fail first; the thread stays, and the open taking it hears why.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const failure = await opening();
    expect(failure?.message).toContain('chat-thread-unit-missing');
  });

  test('discarded, is not taken: the next open starts its own', async () => {
    threadModules.pglite = require.resolve('./support/full-disk-pglite');
    prepareEmbeddedThread();
    threadModules.pglite = REAL_PGLITE;
    await discardPreparedThread();
    await expect(opening()).resolves.toBeUndefined();
  });
});
