import { errorCodeOf, isWriteFailure, plainFailure } from '../../src/database/plain-failure';

// "Every start-up failure names its cause in plain words", whatever was thrown.
describe('plainFailure', () => {
  test('an Error is its message', () => {
    expect(plainFailure(new Error('port 4400 is in use'))).toBe('port 4400 is in use');
  });

  test('an Error with a cause chain names each cause once', () => {
    const root = Object.assign(new Error('write failed'), { code: 'ENOSPC' });
    const middle = new Error('could not extend file "base/1/2"', { cause: root });
    const top = new Error('cannot open the database', { cause: middle });
    expect(plainFailure(top)).toBe('cannot open the database: could not extend file "base/1/2": write failed (ENOSPC)');
  });

  test('a cause already quoted in the message is not repeated', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    expect(plainFailure(new Error(`cannot connect: ${cause.message}`, { cause }))).toBe(
      'cannot connect: connect ECONNREFUSED 127.0.0.1:5432',
    );
  });

  test("Node's ErrnoException keeps its message, which already names the code", () => {
    const error = Object.assign(new Error("ENOSPC: no space left on device, write '/data/base/1'"), {
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write',
    });
    expect(plainFailure(error)).toBe("ENOSPC: no space left on device, write '/data/base/1'");
  });

  test('an Emscripten ErrnoError from PGlite ({ name, errno }) is the error in words', () => {
    expect(plainFailure({ name: 'ErrnoError', errno: 51 })).toBe('no space left on device (ENOSPC)');
    expect(plainFailure({ name: 'ErrnoError', errno: 2 })).toBe('permission denied (EACCES)');
  });

  test('a plain object with errno and code is the code in words', () => {
    expect(plainFailure({ errno: 28, code: 'ENOSPC' })).toBe('no space left on device (ENOSPC)');
  });

  test('a string is itself, and several lines become one', () => {
    expect(plainFailure('  the disk is gone  ')).toBe('the disk is gone');
    expect(plainFailure('first\nsecond')).toBe('first; second');
  });

  test('a plain object without a message shows its fields', () => {
    expect(plainFailure({ status: 3, reason: 'aborted' })).toBe('{"status":3,"reason":"aborted"}');
    expect(plainFailure({})).toBe('an object of type Object with no message');
  });

  test('an AggregateError without a message names each inner failure', () => {
    const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    const error = new AggregateError([refused('::1:5432'), refused('127.0.0.1:5432')]);
    expect(plainFailure(error)).toBe('connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432');
  });

  test('an Error with no message is its name; undefined, numbers and functions are named', () => {
    expect(plainFailure(new TypeError())).toBe('TypeError');
    expect(plainFailure(undefined)).toBe('an unknown failure');
    expect(plainFailure(null)).toBe('an unknown failure');
    expect(plainFailure(42)).toBe('42');
    expect(plainFailure(function boom() {})).toBe('a function boom');
  });

  test('a cause that loops back is named once', () => {
    const error = new Error('outer') as Error & { cause?: unknown };
    error.cause = error;
    expect(plainFailure(error)).toBe('outer');
  });

  test.each<[string, unknown]>([
    ['an Error', new Error('x')],
    ['an ErrnoError', { name: 'ErrnoError', errno: 51 }],
    ['a plain object', { a: 1 }],
    ['an empty object', {}],
    [
      'an object with a circular field',
      (() => {
        const value: Record<string, unknown> = {};
        value.self = value;
        return value;
      })(),
    ],
    ['an AggregateError', new AggregateError([{ errno: 51 }])],
  ])('%s is never [object Object]', (_kind, value) => {
    expect(plainFailure(value)).not.toContain('[object Object]');
  });
});

describe('errorCodeOf and isWriteFailure', () => {
  test('find the code on the value or down its causes', () => {
    const inner = { name: 'ErrnoError', errno: 69 };
    expect(errorCodeOf(new Error('wrapped', { cause: inner }))).toBe('EROFS');
    expect(isWriteFailure(new Error('wrapped', { cause: inner }))).toBe(true);
    expect(isWriteFailure(Object.assign(new Error('denied'), { code: 'EACCES' }))).toBe(false);
    expect(errorCodeOf('ENOSPC')).toBeUndefined();
  });
});

describe('a cause whose message the outer message already quotes', () => {
  test('is not described again, codes and deeper causes included', () => {
    const root = new Error('Connection terminated unexpectedly');
    const timeout = Object.assign(new Error('no answer from PostgreSQL at db:5432 within 500 ms', { cause: root }), {
      code: 'ETIMEDOUT',
    });
    const top = new Error(`cannot connect to the database: ${timeout.message}`, { cause: timeout });
    expect(plainFailure(top)).toBe('cannot connect to the database: no answer from PostgreSQL at db:5432 within 500 ms');
  });
});
