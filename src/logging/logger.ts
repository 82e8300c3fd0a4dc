import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import { LogFormat, LogLevel } from '../config/settings';

export type { Logger } from 'pino';

/** Injection token for the server's pino logger. */
export const LOGGER = Symbol('Logger');

export interface LoggerSettings {
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** On an instance of a cluster, every line carries its id as `instance`. */
  readonly cluster?: { readonly instanceId: string };
}

/**
 * Keys whose values never reach a log line, wherever they sit in a logged object. No code logs a
 * command line or a password; this is the second lock on that door.
 */
const REDACTED = ['password', '*.password', 'line', '*.line', 'params', '*.params'];

/**
 * The server's logger: one JSON object per line, or readable coloured lines when `format` is
 * `pretty` (`auto` picks pretty when the destination is a terminal). Each server gets its own
 * logger, so several servers in one process (tests, benchmarks) keep their own level and output.
 */
export function createLogger(settings: LoggerSettings, destination?: DestinationStream): Logger {
  const options = {
    level: settings.logLevel,
    base: settings.cluster ? { instance: settings.cluster.instanceId } : undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED, censor: '[redacted]' },
  };
  const toTerminal = !destination && process.stdout.isTTY === true;
  const out = destination ?? pino.destination({ fd: 1, sync: true });
  const readable = settings.logFormat === 'pretty' || (settings.logFormat === 'auto' && toTerminal);
  if (!readable) return pino(options, out);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only for readable lines; JSON lines do without it
  const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty');
  const format = prettyFactory({
    colorize: toTerminal && !process.env.NO_COLOR,
    ignore: 'context,instance',
    messageFormat: '{if instance}{instance} {end}{if context}[{context}] {end}{msg}',
    singleLine: true,
  });
  return pino(options, { write: (line: string) => out.write(format(line)) });
}

/** Nest's own start-up chatter, logged at debug so that info shows what operators act on. */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'NestMicroservice',
]);

/**
 * Nest logs an error that stops initialisation here, then rethrows it (the app is created with
 * `abortOnError: false`) to the caller, which reports it on one line; Nest's copy, with its stack,
 * is detail.
 */
const RETHROWN_CONTEXT = 'ExceptionHandler';

/** Nest's logger interface over pino: framework messages land in the same structured stream. */
export class NestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    if (context && FRAMEWORK_CONTEXTS.has(context)) this.write('debug', message, context);
    else this.write('info', message, context);
  }

  error(message: unknown, stackOrContext?: string, context?: string): void {
    // Nest passes (message, stack, context) for errors and (message, context) otherwise.
    const stack = context === undefined ? undefined : stackOrContext;
    const from = context ?? stackOrContext;
    this.write(from === RETHROWN_CONTEXT ? 'debug' : 'error', message, from, stack);
  }

  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }

  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }

  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }

  fatal(message: unknown, context?: string): void {
    this.write('fatal', message, context);
  }

  private write(level: pino.Level, message: unknown, context?: string, stack?: string): void {
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    if (message instanceof Error) this.logger[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'string') this.logger[level](fields, message);
    else this.logger[level]({ ...fields, detail: message }, String(message));
  }
}
