/** The event a connection's end raises, after every command it sent has been handled. */
export const SESSION_CLOSED = 'session.closed';

/** What modules may know of a client connection: who it is, and a way to send it a line. */
export interface Session {
  /** Connection id used in logs, e.g. `c42`. */
  readonly id: string;
  readonly remoteAddress: string;
  /** The logged-in user, set by presence on LOGIN. */
  user?: string;
  /** Queues one serialized protocol line (ending in LF) for this client. */
  deliver(line: string): void;
}
