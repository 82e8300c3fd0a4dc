import { DatabaseLog } from './database-log';

/** Failures that may pass by themselves: the server is starting, restarting, or out of slots. */
const TRANSIENT_NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'EAI_AGAIN',
]);
/** Class 08 connection exception, 57P01–57P03 shutting down or starting up, 53300 too many connections. */
const TRANSIENT_SQLSTATE = /^(08...|57P0[123]|53300)$/;
/** `pg` reports a connection lost or timed out with these messages and no code. */
const TRANSIENT_PG_MESSAGE = /^(Connection terminated|timeout expired)/;

export interface StartAttempts {
  /** Attempts after the first one that fails. */
  readonly retries: number;
  readonly retryDelayMs: number;
  /** `host:port` of the PostgreSQL server, for messages; unset for the embedded database. */
  readonly server?: string;
}

/**
 * Whether a failure to open the database may pass by itself and is worth another attempt: a
 * connection refused, reset or timed out by the system, or PostgreSQL starting up. A missing database or role, a
 * wrong password, a name that does not resolve or a failed migration will fail the same way again.
 */
export function isTransient(error: Error): boolean {
  // A database that took a connection and never answered within the timeout (packets dropped) is
  // not waited for again: a start with no reachable database ends within the timeout.
  if ((error as { unanswered?: unknown }).unanswered === true) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return TRANSIENT_NETWORK_ERRORS.has(code) || (isSqlState(error) && TRANSIENT_SQLSTATE.test(code));
  return TRANSIENT_PG_MESSAGE.test(error.message);
}

/**
 * Opens the database, trying again after a transient failure. Each retry is one warning line; the
 * last failure, or the first that is not transient, is thrown for the caller to report.
 */
export function openAtStart<T>(log: DatabaseLog, open: () => Promise<T>, attempts: StartAttempts, sleep = wait): Promise<T> {
  const total = attempts.retries + 1;
  return log.whileOpening(async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await open();
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        if (!isTransient(failure)) throw explained(failure, attempts.server);
        const reason = messageOf(failure);
        if (attempt === total) {
          const tries = total > 1 ? ` after ${total} attempts` : '';
          throw new Error(`cannot connect to the database${tries}: ${reason}`, { cause: error });
        }
        const delay = attempts.retryDelayMs;
        log.retrying(`cannot connect to the database (attempt ${attempt} of ${total}): ${reason}; retrying in ${delay / 1000} s`);
        await sleep(delay);
      }
    }
  });
}

function isSqlState(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in error;
}

/** PostgreSQL's own message already names the database or role; this adds where and which code. */
function explained(error: Error, server: string | undefined): Error {
  if ('syscall' in error || 'unanswered' in error) {
    return new Error(`cannot connect to the database: ${messageOf(error)}`, { cause: error });
  }
  if (!isSqlState(error)) return error;
  const code = (error as { code?: string }).code as string;
  const where = server ? `PostgreSQL at ${server}, ` : '';
  return new Error(`${error.message} (${where}SQLSTATE ${code})`, { cause: error });
}

/** Node reports a refused connection to every address of a name as an AggregateError without a message. */
function messageOf(error: Error): string {
  if (error.message) return error.message;
  if (error instanceof AggregateError) return error.errors.map((inner) => messageOf(inner as Error)).join('; ');
  return error.name;
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
