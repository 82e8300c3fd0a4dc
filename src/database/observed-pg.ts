import pg from 'pg';

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * The `pg` module with a pool that reports each connection it fails to open: TypeORM passes those
 * failures on to the caller without logging them, and they are the first sign of an outage.
 */
export function observedPg(connectionFailed: (error: Error) => void): typeof pg {
  class ObservedPool extends pg.Pool {
    override connect(): Promise<pg.PoolClient>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
      if (!callback) {
        return super.connect().catch((error: Error) => {
          connectionFailed(error);
          throw error;
        });
      }
      super.connect((error, client, done) => {
        if (error) connectionFailed(error);
        callback(error, client, done);
      });
    }
  }
  return Object.create(pg, { Pool: { value: ObservedPool } }) as typeof pg;
}
