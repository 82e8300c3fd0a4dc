import type { Failure, QueryResult } from './embedded-messages';

/**
 * What the main thread and the PostgreSQL driver's thread say to each other (`pg-thread.ts`,
 * `pg-worker.ts`). Everything crosses by structured clone: a pool's settings, a statement's text
 * and parameters, a result's rows and fields, an error as a Failure with PostgreSQL's fields.
 */

/** A pool to make in the thread: `pg`'s pool options, and `host:port` of the server for messages. */
export interface PoolSettings {
  readonly server: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * From the main thread. `pool` makes a pool and `release` gives a connection back (`destroy`: after
 * an error, so it is closed rather than reused); neither is answered. The others are, by `id`.
 */
export type PgRequest =
  | { readonly kind: 'pool'; readonly pool: number; readonly settings: PoolSettings }
  | { readonly kind: 'connect'; readonly id: number; readonly pool: number }
  | {
      readonly kind: 'query';
      readonly id: number;
      readonly client: number;
      readonly text: string;
      readonly params?: readonly unknown[];
    }
  | { readonly kind: 'release'; readonly client: number; readonly destroy: boolean }
  | { readonly kind: 'end'; readonly id: number; readonly pool: number };

/**
 * From the driver's thread: a connection handed out (`connected`), a statement's result (several
 * for several statements in one text), a request's failure; and, unasked, an error of an idle
 * connection (`poolError`) or a connection that could not be opened (`connectionFailed`).
 */
export type PgReply =
  | { readonly kind: 'connected'; readonly id: number; readonly client: number }
  | { readonly kind: 'done'; readonly id: number; readonly result?: QueryResult | QueryResult[] }
  | { readonly kind: 'failed'; readonly id: number; readonly failure: Failure }
  | { readonly kind: 'poolError'; readonly pool: number; readonly failure: Failure }
  | { readonly kind: 'connectionFailed'; readonly pool: number; readonly failure: Failure };
