import { createLogger, NestLogger } from '../../src/logging/logger';
import { LEVEL, LogCapture } from '../e2e/harness/log-capture';

describe('createLogger', () => {
  test('writes one JSON object per line with an ISO time', () => {
    const logs = new LogCapture();
    createLogger({ logLevel: 'info', logFormat: 'json' }, logs).info({ conn: 'c1' }, 'connection opened');
    expect(logs.entries).toEqual([
      { level: LEVEL.info, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), conn: 'c1', msg: 'connection opened' },
    ]);
  });

  test('drops lines below the configured level', () => {
    const logs = new LogCapture();
    const logger = createLogger({ logLevel: 'warn', logFormat: 'json' }, logs);
    logger.info('routine');
    logger.warn('worth a look');
    expect(logs.entries.map((entry) => entry.msg)).toEqual(['worth a look']);
  });

  test('never writes a field named password', () => {
    const logs = new LogCapture();
    createLogger({ logLevel: 'info', logFormat: 'json' }, logs).info(
      { password: 'hunter2', nested: { password: 'hunter2' } },
      'oops',
    );
    expect(logs.raw.join('')).not.toContain('hunter2');
    expect(logs.entries[0]).toMatchObject({ password: '[redacted]', nested: { password: '[redacted]' } });
  });

  test('the pretty format writes a readable line with the context in brackets', () => {
    const lines: string[] = [];
    const logger = createLogger({ logLevel: 'info', logFormat: 'pretty' }, { write: (line: string) => void lines.push(line) });
    logger.info({ context: 'LineServer' }, 'listening on 127.0.0.1:4400');
    expect(lines.join('')).toMatch(/INFO.*\[LineServer\] listening on 127\.0\.0\.1:4400\n$/);
  });
});

describe('NestLogger', () => {
  const nest = () => {
    const logs = new LogCapture();
    return { logs, logger: new NestLogger(logs.logger('debug')) };
  };

  test("Nest's start-up chatter is debug; other log() calls are info with their context", () => {
    const { logs, logger } = nest();
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('link to b.test is up', 'Federation');
    expect(logs.entries.map((entry) => [entry.level, entry.context, entry.msg])).toEqual([
      [LEVEL.debug, 'InstanceLoader', 'AppModule dependencies initialized'],
      [LEVEL.info, 'Federation', 'link to b.test is up'],
    ]);
  });

  test('error() keeps the stack Nest passes before the context', () => {
    const { logs, logger } = nest();
    logger.error('handler failed', 'Error: boom\n    at x', 'ExceptionsHandler');
    logger.error('plain failure', 'Shutdown');
    expect(logs.entries).toEqual([
      expect.objectContaining({
        level: LEVEL.error,
        context: 'ExceptionsHandler',
        stack: 'Error: boom\n    at x',
        msg: 'handler failed',
      }),
      expect.objectContaining({ level: LEVEL.error, context: 'Shutdown', msg: 'plain failure' }),
    ]);
    expect(logs.entries[1]).not.toHaveProperty('stack');
  });

  test("Nest's ExceptionHandler copy of an error it rethrows to the caller is debug detail, not a second error line", () => {
    const { logs, logger } = nest();
    const failure = new Error('database "x" does not exist');
    logger.error(failure, 'ExceptionHandler');
    expect(logs.entries).toEqual([
      expect.objectContaining({ level: LEVEL.debug, context: 'ExceptionHandler', msg: failure.message }),
    ]);
    expect(logs.atLeast(LEVEL.info)).toEqual([]);
  });

  test('an Error or an object is logged as a field, with a readable message', () => {
    const { logs, logger } = nest();
    logger.warn(new Error('careful'), 'Test');
    logger.debug({ answer: 42 }, 'Test');
    expect(logs.entries).toEqual([
      expect.objectContaining({ level: LEVEL.warn, msg: 'careful', err: expect.objectContaining({ message: 'careful' }) }),
      expect.objectContaining({ level: LEVEL.debug, detail: { answer: 42 } }),
    ]);
  });

  test('verbose is trace and fatal is fatal', () => {
    const logs = new LogCapture();
    const logger = new NestLogger(createLogger({ logLevel: 'debug', logFormat: 'json' }, logs));
    logger.verbose('very detailed', 'Test');
    logger.fatal('the end', 'Test');
    expect(logs.entries.map((entry) => [entry.level, entry.msg])).toEqual([[60, 'the end']]);
  });
});
