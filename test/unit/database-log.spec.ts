import { DatabaseLog } from '../../src/database/database-log';
import { isTransient, openAtStart } from '../../src/database/open-at-start';
import { LEVEL, LogCapture } from '../e2e/harness/log-capture';

function databaseLog(): { log: DatabaseLog; logs: LogCapture } {
  const logs = new LogCapture();
  return { log: new DatabaseLog(logs.logger('debug')), logs };
}

describe('DatabaseLog', () => {
  test('a failed query is counted and logged with its query text but not its parameters', () => {
    const { log, logs } = databaseLog();
    const failure = Object.assign(new Error('relation "users" does not exist'), { code: '42P01' });
    (log.logQueryError as (error: Error, query: string, parameters: unknown[]) => void)(
      failure,
      'INSERT INTO users VALUES ($1, $2)',
      ['bob', '$2b$10$hash'],
    );
    expect(log.errors).toBe(1);
    expect(logs.entries).toEqual([
      expect.objectContaining({
        level: LEVEL.error,
        msg: 'database query failed: relation "users" does not exist',
        query: 'INSERT INTO users VALUES ($1, $2)',
      }),
    ]);
    expect(logs.raw.join('')).not.toContain('$2b$10$hash');
  });

  test('a unique violation is an answer, not an error', () => {
    const { log, logs } = databaseLog();
    log.logQueryError(Object.assign(new Error('duplicate key value'), { code: '23505' }), 'INSERT …');
    expect(log.errors).toBe(0);
    expect(logs.entries).toEqual([]);
  });

  test('a connection that cannot be opened is counted and logged', () => {
    const { log, logs } = databaseLog();
    log.connectionFailed(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    expect(log.errors).toBe(1);
    expect(logs.entries[0]).toMatchObject({
      level: LEVEL.error,
      msg: 'cannot connect to the database: connect ECONNREFUSED 127.0.0.1:5432',
    });
  });

  test("the pool's warning about a lost connection counts as an error; other messages are detail", () => {
    const { log, logs } = databaseLog();
    log.log('warn', 'Postgres pool raised an error. Error: Connection terminated unexpectedly');
    log.log('info', 'something routine');
    expect(log.errors).toBe(1);
    expect(logs.entries.map((entry) => entry.level)).toEqual([LEVEL.error, LEVEL.debug]);
  });

  test('each migration applied is an info line; the rest of the migration chatter is debug', () => {
    const { log, logs } = databaseLog();
    log.logSchemaBuild('1 migrations are new migrations must be executed.');
    log.logSchemaBuild('Migration InitialSchema1795693295484 has been executed successfully.');
    expect(logs.entries.map((entry) => [entry.level, entry.msg])).toEqual([
      [LEVEL.debug, '1 migrations are new migrations must be executed.'],
      [LEVEL.info, 'Migration InitialSchema1795693295484 has been executed successfully.'],
    ]);
  });
});

/** An error as `pg` reports one from PostgreSQL: a SQLSTATE code and a severity. */
function postgresError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: 'FATAL' });
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, syscall: 'connect' });
}

describe('isTransient', () => {
  test.each([
    ['a refused connection', networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a timed-out connection', networkError('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:5432')],
    ['a temporary name resolution failure', networkError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN postgres')],
    ['PostgreSQL starting up', postgresError('57P03', 'the database system is starting up')],
    ['too many connections', postgresError('53300', 'sorry, too many clients already')],
    ['a connection exception', postgresError('08006', 'connection failure')],
    ['a connection lost without a code', new Error('Connection terminated unexpectedly')],
    ['a connection timeout without a code', new Error('timeout expired')],
  ])('retries %s', (_what, error) => {
    expect(isTransient(error)).toBe(true);
  });

  test.each([
    ['a missing database', postgresError('3D000', 'database "chat" does not exist')],
    ['a missing role', postgresError('28000', 'role "chat" does not exist')],
    ['a wrong password', postgresError('28P01', 'password authentication failed for user "chat"')],
    ['a failed migration', postgresError('42501', 'permission denied for schema public')],
    ['a host name that does not exist', networkError('ENOTFOUND', 'getaddrinfo ENOTFOUND postgress')],
    ['an error of unknown kind', new Error('something else')],
    [
      'a database that took the connection and never answered within the timeout',
      Object.assign(new Error('no answer from PostgreSQL at 10.0.0.9:5432 within 500 ms'), {
        code: 'ETIMEDOUT',
        unanswered: true,
      }),
    ],
  ])('does not retry %s', (_what, error) => {
    expect(isTransient(error)).toBe(false);
  });
});

describe('openAtStart', () => {
  const attempts = { retries: 2, retryDelayMs: 1500, server: '127.0.0.1:5432' };

  /** An open() that fails with each of `failures` in turn, then answers "open". */
  function opener(failures: Error[], log: DatabaseLog): () => Promise<string> {
    return async () => {
      const failure = failures.shift();
      if (!failure) return 'open';
      // The pool reports the same failure as it happens; the start-up reports it once.
      log.connectionFailed(failure);
      throw failure;
    };
  }

  test('retries a refused connection with one warning line per retry, then succeeds', async () => {
    const { log, logs } = databaseLog();
    const refused = networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');
    const sleeps: number[] = [];
    const sleep = async (ms: number) => void sleeps.push(ms);
    await expect(openAtStart(log, opener([refused, refused], log), attempts, sleep)).resolves.toBe('open');
    expect(sleeps).toEqual([1500, 1500]);
    expect(logs.entries.map((entry) => [entry.level, entry.msg])).toEqual([
      [LEVEL.warn, 'cannot connect to the database (attempt 1 of 3): connect ECONNREFUSED 127.0.0.1:5432; retrying in 1.5 s'],
      [LEVEL.warn, 'cannot connect to the database (attempt 2 of 3): connect ECONNREFUSED 127.0.0.1:5432; retrying in 1.5 s'],
    ]);
    expect(logs.raw.join('')).not.toContain('    at ');
    expect(log.errors).toBe(2);
  });

  test('after the last attempt throws for the caller to report, without logging that failure itself', async () => {
    const { log, logs } = databaseLog();
    const refused = () => networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');
    const failing = opener([refused(), refused(), refused()], log);
    await expect(openAtStart(log, failing, attempts, async () => undefined)).rejects.toThrow(
      'cannot connect to the database after 3 attempts: connect ECONNREFUSED 127.0.0.1:5432',
    );
    expect(logs.entries).toHaveLength(2);
  });

  test('with no retries, one attempt, and nothing logged', async () => {
    const { log, logs } = databaseLog();
    const failing = opener([networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')], log);
    await expect(openAtStart(log, failing, { retries: 0, retryDelayMs: 0 })).rejects.toThrow(
      /^cannot connect to the database: connect ECONNREFUSED/,
    );
    expect(logs.entries).toEqual([]);
  });

  test.each([
    ['3D000', 'database "no_such_db" does not exist'],
    ['28000', 'role "nobody" does not exist'],
    ['28P01', 'password authentication failed for user "chat"'],
  ])('fails at once for SQLSTATE %s, naming the server and the code', async (code, message) => {
    const { log, logs } = databaseLog();
    const sleep = jest.fn(async () => undefined);
    const failing = opener([postgresError(code, message)], log);
    await expect(openAtStart(log, failing, attempts, sleep)).rejects.toThrow(
      `${message} (PostgreSQL at 127.0.0.1:5432, SQLSTATE ${code})`,
    );
    expect(sleep).not.toHaveBeenCalled();
    expect(logs.entries).toEqual([]);
  });

  test('fails at once for a host name that does not resolve, saying it is the database connection', async () => {
    const { log } = databaseLog();
    const failing = opener([networkError('ENOTFOUND', 'getaddrinfo ENOTFOUND postgress')], log);
    await expect(openAtStart(log, failing, attempts, async () => undefined)).rejects.toThrow(
      /^cannot connect to the database: getaddrinfo ENOTFOUND postgress$/,
    );
  });

  test('passes on an error that is neither transient nor from PostgreSQL unchanged', async () => {
    const { log } = databaseLog();
    const odd = new Error('the data directory is locked');
    await expect(openAtStart(log, opener([odd], log), attempts)).rejects.toBe(odd);
  });

  test('stops retrying when a transient failure turns into a permanent one', async () => {
    const { log, logs } = databaseLog();
    const failures = [
      networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      postgresError('3D000', 'database "x" does not exist'),
    ];
    await expect(openAtStart(log, opener(failures, log), attempts, async () => undefined)).rejects.toThrow(
      /^database "x" does not exist/,
    );
    expect(logs.entries).toHaveLength(1);
  });

  test('reads a refused connection to every address of a name, which has no message of its own', async () => {
    const { log, logs } = databaseLog();
    const all = Object.assign(
      new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')], ''),
      { code: 'ECONNREFUSED' },
    );
    await expect(openAtStart(log, opener([all], log), { retries: 1, retryDelayMs: 0 }, async () => undefined)).resolves.toBe(
      'open',
    );
    expect(logs.entries[0].msg).toBe(
      'cannot connect to the database (attempt 1 of 2): connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432; retrying in 0 s',
    );
  });

  test('once open, a connection the pool cannot open is logged again', async () => {
    const { log, logs } = databaseLog();
    await openAtStart(log, async () => 'open', attempts);
    log.connectionFailed(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    expect(logs.entries.map((entry) => entry.msg)).toEqual([
      'cannot connect to the database: connect ECONNREFUSED 127.0.0.1:5432',
    ]);
  });
});
