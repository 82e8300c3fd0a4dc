/** How a command ended: `ok` and `failed` by its reply, `error` when its handler threw. */
export type CommandOutcome = 'ok' | 'failed' | 'error';

export type OutcomeCounts = Record<CommandOutcome, number>;

/**
 * Where the transport caught an unexpected error: taking a connection on, framing its bytes,
 * parsing a line, the handler, sending its reply, anything else of a line's turn, queueing or
 * flushing output, the end of a connection, its socket's events, dialing a link.
 */
export const ERROR_STAGES = [
  'accept',
  'frame',
  'parse',
  'handler',
  'reply',
  'dispatch',
  'deliver',
  'flush',
  'closed',
  'socket',
  'dial',
] as const;

export type ErrorStage = (typeof ERROR_STAGES)[number];

/** Running totals of the transport since it started, for metrics. */
export interface TransportStats {
  readonly connectionsOpen: number;
  readonly connectionsOpened: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** Commands handled, by verb; lines with no known verb count under `unknown` as failed. */
  readonly commands: ReadonlyMap<string, Readonly<OutcomeCounts>>;
  /** Unexpected errors caught, by stage; each was logged, and the process carried on. */
  readonly internalErrors: ReadonlyMap<ErrorStage, number>;
  /** Connections closed at once on arrival: at the connection cap, and over their address's limit. */
  readonly connectionsRefused: { readonly capacity: number; readonly perAddress: number };
}

/** What the transport tells the rest of the server about itself (readiness and metrics). */
export interface TransportStatus {
  /** True from the moment it listens until a shutdown begins. */
  readonly listening: boolean;
  stats(): TransportStats;
}

/** Injection token for the transport's `TransportStatus`. */
export const TRANSPORT_STATUS = Symbol('TransportStatus');
