import { DatabaseLog } from '../../src/database/database-log';
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
