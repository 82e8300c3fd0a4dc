import pg from 'pg';

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/** What `pg` says when a connection or a query was not answered in time. */
const CONNECT_TIMEOUTS = new Set(['timeout expired', 'Connection terminated due to connection timeout']);
const POOL_FULL_TIMEOUT = 'timeout exceeded when trying to connect';
const QUERY_READ_TIMEOUT = 'Query read timeout';

export interface ObservedPgOptions {
  /** `host:port` of the PostgreSQL server, for messages. */
  readonly server: string;
  /** Called with each connection the pool fails to open. */
  readonly connectionFailed?: (error: Error) => void;
}

/**
 * The `pg` module with a pool that reports each connection it fails to open (TypeORM passes those
 * failures on without logging them, and they are the first sign of an outage), says a timed-out
 * connection in plain words, and drops a connection whose query went unanswered: once `pg`'s
 * `query_timeout` has given up on a reply, the connection still waits for it, and every later query
 * on it would wait behind.
 */
export function observedPg({ server, connectionFailed = () => undefined }: ObservedPgOptions): typeof pg {
  class ObservedPool extends pg.Pool {
    constructor(config?: pg.PoolConfig) {
      super({ ...config, Client: DroppingClient });
    }

    override connect(): Promise<pg.PoolClient>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
      const explained = (error: Error) => plainConnectFailure(error, server, this.options);
      if (!callback) {
        return super.connect().catch((error: Error) => {
          const failure = explained(error);
          connectionFailed(failure);
          throw failure;
        });
      }
      super.connect((error, client, done) => {
        const failure = error && explained(error);
        if (failure) connectionFailed(failure);
        callback(failure, client, done);
      });
    }
  }
  return Object.create(pg, { Pool: { value: ObservedPool } }) as typeof pg;
}

/** A connection or pool timeout as one sentence naming the server and the bound, with code ETIMEDOUT. */
function plainConnectFailure(error: Error, server: string, options: pg.PoolOptions): Error {
  const ms = options.connectionTimeoutMillis;
  let message: string | undefined;
  if (CONNECT_TIMEOUTS.has(error.message)) message = `no answer from PostgreSQL at ${server} within ${ms} ms`;
  if (error.message === POOL_FULL_TIMEOUT) message = `no connection to PostgreSQL at ${server} free within ${ms} ms`;
  if (message === undefined) return error;
  return Object.assign(new Error(message, { cause: error }), { code: 'ETIMEDOUT', unanswered: true });
}

type Query = (this: pg.Client, ...args: unknown[]) => unknown;

class DroppingClient extends pg.Client {}

const query = Reflect.get(pg.Client.prototype, 'query') as Query;
(DroppingClient.prototype as unknown as { query: Query }).query = function (this: pg.Client, ...args: unknown[]) {
  const last = args.length - 1;
  const callback = args[last];
  if (typeof callback === 'function') {
    args[last] = (error: Error | null, result: unknown) => {
      if (error) dropIfUnanswered(this, error);
      (callback as (error: Error | null, result: unknown) => void)(error, result);
    };
    return query.apply(this, args);
  }
  const result = query.apply(this, args);
  if (!(result instanceof Promise)) return result;
  return result.catch((error: Error) => {
    dropIfUnanswered(this, error);
    throw error;
  });
};

function dropIfUnanswered(client: pg.Client, error: Error): void {
  if (error.message === QUERY_READ_TIMEOUT) client.connection.stream.destroy();
}
