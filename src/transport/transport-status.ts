/** How a command ended: `ok` and `failed` by its reply, `error` when its handler threw. */
export type CommandOutcome = 'ok' | 'failed' | 'error';

export type OutcomeCounts = Record<CommandOutcome, number>;

/** Running totals of the transport since it started, for metrics. */
export interface TransportStats {
  readonly connectionsOpen: number;
  readonly connectionsOpened: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** Commands handled, by verb; lines with no known verb count under `unknown` as failed. */
  readonly commands: ReadonlyMap<string, Readonly<OutcomeCounts>>;
}

/** What the transport tells the rest of the server about itself (readiness and metrics). */
export interface TransportStatus {
  /** True from the moment it listens until a shutdown begins. */
  readonly listening: boolean;
  stats(): TransportStats;
}

/** Injection token for the transport's `TransportStatus`. */
export const TRANSPORT_STATUS = Symbol('TransportStatus');
