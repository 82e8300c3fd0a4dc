import type pg from 'pg';
import { parentPort } from 'node:worker_threads';
import { QueryResult, toFailure } from './embedded-messages';
import { observedPg } from './observed-pg';
import { PgReply, PgRequest } from './pg-messages';

/*
 * The PostgreSQL driver's own thread: `pg`'s pools, their sockets and the parsing of PostgreSQL's
 * wire protocol live here, so that the main thread's event loop and its copy of Node's stream code
 * serve the chat's sockets alone (see `pg-thread.ts` for why). Each request is handled as it comes;
 * a connection handed out runs its statements in order, as `pg` does.
 */

const port = parentPort as NonNullable<typeof parentPort>;
const send = (reply: PgReply) => port.postMessage(reply);

const pools = new Map<number, pg.Pool>();
const clients = new Map<number, pg.PoolClient>();
let nextClient = 1;
/** Connections already given their listener for errors between statements (the pool hands them out again). */
const listened = new WeakSet<pg.PoolClient>();

/** A result as plain data: `pg`'s own carries its type parsers, which do not cross threads. */
function plain(result: pg.QueryResult): QueryResult {
  return {
    rows: result.rows,
    rowCount: result.rowCount ?? 0,
    command: result.command,
    fields: result.fields.map(({ name, dataTypeID }) => ({ name, dataTypeID })),
  };
}

/** A parameter as `pg` expects it: bytes arrive as a Uint8Array, which `pg` sends only as a Buffer. */
function parameter(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return value;
}

function makePool(id: number, server: string, config: pg.PoolConfig): void {
  const { Pool } = observedPg({
    server,
    connectionFailed: (error) => send({ kind: 'connectionFailed', pool: id, failure: toFailure(error) }),
  });
  const pool = new Pool(config);
  // An idle connection that fails (the server restarted) is dropped by the pool; the main thread hears of it.
  pool.on('error', (error) => send({ kind: 'poolError', pool: id, failure: toFailure(error) }));
  pools.set(id, pool);
}

async function answer(request: Exclude<PgRequest, { kind: 'pool' | 'release' }>): Promise<PgReply> {
  switch (request.kind) {
    case 'connect': {
      const pool = pools.get(request.pool);
      if (!pool) throw new Error('the connection pool is closed');
      const client = await pool.connect();
      // A connection handed out that fails between statements must not end the thread; its next statement fails.
      if (!listened.has(client)) {
        listened.add(client);
        client.on('error', () => undefined);
      }
      const id = nextClient++;
      clients.set(id, client);
      return { kind: 'connected', id: request.id, client: id };
    }
    case 'query': {
      const client = clients.get(request.client);
      if (!client) throw new Error('the connection was already given back to the pool');
      const result = (await client.query(request.text, request.params?.map(parameter))) as pg.QueryResult | pg.QueryResult[];
      return { kind: 'done', id: request.id, result: Array.isArray(result) ? result.map(plain) : plain(result) };
    }
    case 'end': {
      const pool = pools.get(request.pool);
      pools.delete(request.pool);
      await pool?.end();
      return { kind: 'done', id: request.id };
    }
  }
}

function release(id: number, destroy: boolean): void {
  const client = clients.get(id);
  clients.delete(id);
  client?.release(destroy ? new Error('given back after an error') : undefined);
}

port.on('message', (request: PgRequest) => {
  if (request.kind === 'pool') return makePool(request.pool, request.settings.server, request.settings.config);
  if (request.kind === 'release') return release(request.client, request.destroy);
  answer(request).then(send, (error: unknown) => send({ kind: 'failed', id: request.id, failure: toFailure(error) }));
});
