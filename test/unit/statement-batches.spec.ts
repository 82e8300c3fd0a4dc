import { Repository } from 'typeorm';
import { StatementBatches } from '../../src/database/statement-batches';
import { UserAccounts } from '../../src/modules/auth/user-accounts';
import { User } from '../../src/modules/auth/user.entity';
import { gate, settle } from './support/gate';

describe('StatementBatches', () => {
  it('runs the requests of one turn as one batch, and answers each in order', async () => {
    const batches: number[][] = [];
    const squares = new StatementBatches<number, number>(async (numbers) => {
      batches.push([...numbers]);
      return numbers.map((n) => n * n);
    });
    await expect(Promise.all([squares.ask(1), squares.ask(2), squares.ask(3)])).resolves.toEqual([1, 4, 9]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('a lone request runs at once in a batch of its own', async () => {
    const batches: string[][] = [];
    const echo = new StatementBatches<string, string>(async (words) => {
      batches.push([...words]);
      return words;
    });
    await expect(echo.ask('a')).resolves.toBe('a');
    await expect(echo.ask('b')).resolves.toBe('b');
    expect(batches).toEqual([['a'], ['b']]);
  });

  it('requests arriving while a batch runs wait for it, and go together in the next', async () => {
    const batches: number[][] = [];
    const gates = [gate(), gate()];
    const doubles = new StatementBatches<number, number>(async (numbers) => {
      const g = gates[batches.length];
      batches.push([...numbers]);
      await g.opened;
      return numbers.map((n) => n * 2);
    });
    const first = doubles.ask(1);
    await settle();
    expect(batches).toEqual([[1]]);
    const later = [doubles.ask(2), doubles.ask(3), doubles.ask(4)];
    await settle();
    expect(batches).toEqual([[1]]);
    expect(doubles.queued).toBe(3);
    gates[0].open();
    await expect(first).resolves.toBe(2);
    await settle();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    gates[1].open();
    await expect(Promise.all(later)).resolves.toEqual([4, 6, 8]);
    expect(doubles.queued).toBe(0);
  });

  it('never puts more than maxBatch requests in one batch', async () => {
    const sizes: number[] = [];
    const same = new StatementBatches<number, number>(
      async (numbers) => {
        sizes.push(numbers.length);
        return numbers;
      },
      { maxBatch: 4 },
    );
    const answers = await Promise.all(Array.from({ length: 10 }, (_, index) => same.ask(index)));
    expect(answers).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sizes).toEqual([4, 4, 2]);
  });

  describe('with gatherMs', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    it('sends a request after a quiet spell at once, and gathers those that keep coming', async () => {
      const batches: number[][] = [];
      const echo = new StatementBatches<number, number>(
        async (numbers) => {
          batches.push([...numbers]);
          return numbers;
        },
        { gatherMs: 10 },
      );
      await expect(echo.ask(1)).resolves.toBe(1);
      expect(batches).toEqual([[1]]);
      jest.advanceTimersByTime(3);
      const second = echo.ask(2);
      await settle();
      expect(batches).toEqual([[1]]);
      jest.advanceTimersByTime(4);
      const third = echo.ask(3);
      await settle();
      expect(batches).toEqual([[1]]);
      jest.advanceTimersByTime(3);
      await expect(Promise.all([second, third])).resolves.toEqual([2, 3]);
      expect(batches).toEqual([[1], [2, 3]]);
      jest.advanceTimersByTime(50);
      await expect(echo.ask(4)).resolves.toBe(4);
      expect(batches).toEqual([[1], [2, 3], [4]]);
    });

    it('does not wait once a whole batch is waiting', async () => {
      const batches: number[][] = [];
      const echo = new StatementBatches<number, number>(
        async (numbers) => {
          batches.push([...numbers]);
          return numbers;
        },
        { gatherMs: 10, maxBatch: 2 },
      );
      await echo.ask(1);
      const next = [echo.ask(2), echo.ask(3)];
      await expect(Promise.all(next)).resolves.toEqual([2, 3]);
      expect(batches).toEqual([[1], [2, 3]]);
    });
  });

  it('fails every request of a failed batch with its error, and still runs the next batch', async () => {
    let calls = 0;
    const flaky = new StatementBatches<number, number>(async (numbers) => {
      calls++;
      if (calls === 1) throw new Error('connection lost');
      return numbers;
    });
    const failed = [flaky.ask(1), flaky.ask(2)];
    await expect(failed[0]).rejects.toThrow('connection lost');
    await expect(failed[1]).rejects.toThrow('connection lost');
    await expect(flaky.ask(3)).resolves.toBe(3);
  });

  it('fails the batch when the answers do not match the requests', async () => {
    const short = new StatementBatches<number, number>(async () => [1]);
    const asked = [short.ask(1), short.ask(2)];
    await expect(asked[0]).rejects.toThrow('a batch of 2 requests got 1 answers');
    await expect(asked[1]).rejects.toThrow('a batch of 2 requests got 1 answers');
  });

  it('refuses a batch size that is not a positive integer', () => {
    expect(() => new StatementBatches(async (requests) => requests, { maxBatch: 0 })).toThrow(RangeError);
    expect(() => new StatementBatches(async (requests) => requests, { maxBatch: 1.5 })).toThrow(RangeError);
    expect(() => new StatementBatches(async (requests) => requests, { gatherMs: -1 })).toThrow(RangeError);
    expect(() => new StatementBatches(async (requests) => requests, { gatherMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('UserAccounts, batched', () => {
  /** A users table in memory that answers the three statements UserAccounts sends, and records them. */
  function fakeTable(existing: Record<string, string>) {
    const rows = new Map(Object.entries(existing));
    const statements: Array<{ sql: string; parameters: unknown[] }> = [];
    const query = async (sql: string, parameters: unknown[]) => {
      statements.push({ sql, parameters });
      const names = parameters[0] as string[];
      if (sql.startsWith('INSERT')) {
        const hashes = parameters[1] as string[];
        const inserted: Array<{ name: string }> = [];
        names.forEach((name, index) => {
          if (rows.has(name)) return;
          rows.set(name, hashes[index]);
          inserted.push({ name });
        });
        return inserted;
      }
      return names.filter((name) => rows.has(name)).map((name) => ({ name, password_hash: rows.get(name) }));
    };
    const accounts = new UserAccounts({ query } as unknown as Repository<User>);
    return { accounts, statements, rows };
  }

  it('answers REGISTERs arriving together with one lookup and one insert', async () => {
    const { accounts, statements, rows } = fakeTable({ alice: 'ha' });
    await expect(Promise.all(['bob', 'alice', 'carol'].map((name) => accounts.exists(name)))).resolves.toEqual([
      false,
      true,
      false,
    ]);
    await expect(Promise.all([accounts.create('carol', 'hc'), accounts.create('bob', 'hb')])).resolves.toEqual([true, true]);
    expect(statements.map((statement) => statement.sql.split(' ')[0])).toEqual(['SELECT', 'INSERT']);
    // Inserted in name order, whatever the order they came in.
    expect(statements[1].parameters).toEqual([
      ['bob', 'carol'],
      ['hb', 'hc'],
    ]);
    expect(rows.get('bob')).toBe('hb');
  });

  it('of two REGISTERs of one name in one batch, only the first creates the account', async () => {
    const { accounts, statements, rows } = fakeTable({});
    await expect(Promise.all([accounts.create('dave', 'first'), accounts.create('dave', 'second')])).resolves.toEqual([
      true,
      false,
    ]);
    expect(statements[0].parameters).toEqual([['dave'], ['first']]);
    expect(rows.get('dave')).toBe('first');
  });

  it('a REGISTER of a taken name in a batch fails, and the others of the batch succeed', async () => {
    const { accounts } = fakeTable({ erin: 'he' });
    await expect(Promise.all([accounts.create('erin', 'x'), accounts.create('frank', 'hf')])).resolves.toEqual([false, true]);
  });

  it("answers LOGINs arriving together with one lookup of their names' hashes", async () => {
    const { accounts, statements } = fakeTable({ alice: 'ha', bob: 'hb' });
    await expect(Promise.all(['bob', 'nobody', 'alice', 'bob'].map((name) => accounts.passwordHashOf(name)))).resolves.toEqual([
      'hb',
      undefined,
      'ha',
      'hb',
    ]);
    expect(statements).toHaveLength(1);
    expect(statements[0].parameters).toEqual([['bob', 'nobody', 'alice']]);
  });
});
