import type { PGlite, Results } from '@electric-sql/pglite';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { buildDatabase, Built, codeOptions, moveIntoPlace } from './embedded-build';
import { garbageCollector, IdleCollection } from './idle-collection';
import { OpenRequest, PostgresCode, QueryResult, Reply, Request, ThreadOptions, toFailure } from './embedded-messages';

/*
 * The embedded database's own thread: PGlite (PostgreSQL compiled to WebAssembly) runs each
 * statement to its end on the thread that calls it, and its memory and garbage are those of that
 * thread's heap. Here they are neither the event loop's nor its heap's: the main thread serves
 * sockets while a statement runs. Requests are answered in the order they came.
 */

const options = workerData as ThreadOptions;
const port = parentPort as NonNullable<typeof parentPort>;
const send = (reply: Reply) => port.postMessage(reply);

function toQueryResult(result: Results): QueryResult {
  const counted = result as Results & { rowCount?: number; command?: string };
  return {
    rows: result.rows,
    rowCount: counted.rowCount ?? result.affectedRows ?? result.rows.length,
    command: counted.command,
    fields: result.fields,
  };
}

async function answer(database: PGlite, request: Request): Promise<QueryResult | undefined> {
  switch (request.kind) {
    case 'query':
      return toQueryResult(await database.query(request.text, [...request.params]));
    case 'exec': {
      // Without parameters the simple protocol runs, which also accepts several statements.
      const results = await database.exec(request.text);
      return toQueryResult(results[results.length - 1] ?? { rows: [], fields: [], affectedRows: 0 });
    }
    case 'close':
      await database.close();
      return undefined;
  }
}

/**
 * Statements run once before the database is reported open. PostgreSQL's WebAssembly is compiled
 * a function at a time, the first time each runs: these run the paths a server's start and first
 * commands need (catalog views, joins, an insert with a unique index and ON CONFLICT) here, while
 * the main thread is still loading modules, instead of on the first commands. Nothing they do stays.
 */
const WARM_UP = [
  `SELECT * FROM "information_schema"."tables" WHERE "table_schema" = 'public' AND "table_name" = 'migrations'`,
  `SELECT c.relname, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname LIKE 'pg%' ORDER BY 1 LIMIT 5`,
  `BEGIN;
   CREATE TEMPORARY TABLE warm_up (id serial PRIMARY KEY, name text UNIQUE NOT NULL, at timestamptz DEFAULT now());
   INSERT INTO warm_up (name) VALUES ('a') ON CONFLICT (name) DO NOTHING RETURNING id;
   SELECT w.id, w.name FROM warm_up w LEFT JOIN warm_up v ON v.id = w.id WHERE w.name = 'a';
   ROLLBACK`,
];

/**
 * PostgreSQL's WebAssembly runs on V8's baseline compiler (Liftoff) alone, never tiered up to
 * TurboFan. A statement's time goes mostly to PGlite's JavaScript and copying, and measured here
 * both compilers answered the server's statements equally fast (0.7–0.9 ms for a REGISTER and a
 * LOGIN's three statements); but TurboFan compiled the start's run-once code on the other core
 * while the server started, and its compiler's memory stayed with the process: with it, a started
 * server held 250–290 MB and took 2.0–2.6 s on an existing database; without, 180 MB and 0.8–1.2 s.
 * The flag is the process's, read when WebAssembly is compiled: only this thread compiles any.
 */
const WASM_COMPILER = '--liftoff-only';

/** PGlite and, when it could be read ahead, PostgreSQL's compiled code and files. */
interface Loaded {
  readonly PGlite: typeof import('@electric-sql/pglite').PGlite;
  readonly code: PostgresCode | undefined;
}

/**
 * Loads PGlite, compiles PostgreSQL's WebAssembly and reads the files PGlite unpacks at every start
 * (its share folder, as one bundle), as soon as the thread starts: a thread started before the
 * configuration is read does this while the main thread reads it. Code that cannot be read ahead is
 * left to PGlite, which reads it itself.
 */
async function load(): Promise<Loaded> {
  setFlagsFromString(WASM_COMPILER);
  const [{ PGlite }, code] = await Promise.all([
    import(options.pglite) as Promise<typeof import('@electric-sql/pglite')>,
    readCode(options.code).catch(() => undefined),
  ]);
  return { PGlite, code };
}

/** The global WebAssembly, which Node's type declarations leave out. */
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: { compile(bytes: Uint8Array): Promise<object> };
};

async function readCode(files: ThreadOptions['code']): Promise<PostgresCode> {
  const [pglite, initdb, bundle] = await Promise.all([readFile(files.wasm), readFile(files.initdb), readFile(files.data)]);
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([wasm.compile(pglite), wasm.compile(initdb)]);
  // PGlite only asks the bundle for its bytes; a Blob would copy them twice more.
  const whole = bundle.byteOffset === 0 && bundle.byteLength === bundle.buffer.byteLength;
  const bytes = whole ? bundle.buffer : bundle.buffer.slice(bundle.byteOffset, bundle.byteOffset + bundle.byteLength);
  return { pgliteWasmModule, initdbWasmModule, fsBundle: { arrayBuffer: () => Promise.resolve(bytes) } };
}

/** Builds the database if it must, opens it and warms it up; undefined when it could not (said to the main thread). */
async function open(loading: Promise<Loaded>, request: OpenRequest): Promise<PGlite | undefined> {
  const started = performance.now();
  let built: Built | undefined;
  let database: PGlite;
  try {
    const { PGlite, code } = await loading;
    if (request.build) {
      built = await buildDatabase(PGlite, request.build, code);
      moveIntoPlace(request.build.building, request.folder);
    }
    database = await PGlite.create(request.folder, {
      ...codeOptions(code),
      startParams: [...PGlite.defaultStartParams, ...request.startParams],
    });
    for (const statement of WARM_UP) await database.exec(statement);
  } catch (error) {
    send({ kind: 'failed', failure: toFailure(error) });
    return undefined;
  }
  send({ kind: 'open', startMs: performance.now() - started, built });
  return database;
}

/**
 * The first message names the folder to open; every later one is a statement, answered in the
 * order they came, once the database is open.
 */
function serve(): void {
  // Held only until the database opens: the code read ahead is not needed after it.
  let loading: Promise<Loaded> | undefined = load();
  // A failure to load is the open request's to report, whenever that comes.
  loading.catch(() => undefined);
  let database: Promise<PGlite | undefined> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const idle = new IdleCollection(garbageCollector());
  port.on('message', (message: OpenRequest | Request) => {
    if (message.kind === 'open') {
      if (!loading) return;
      database = open(loading, message).then((opened) => {
        if (opened) idle.opened();
        return opened;
      });
      loading = undefined;
      queue = database;
      return;
    }
    const request = message;
    idle.started();
    queue = queue.then(async () => {
      const opened = await database;
      try {
        if (!opened) throw new Error('the embedded database is not open');
        send({ kind: 'done', id: request.id, result: await answer(opened, request) });
      } catch (error) {
        send({ kind: 'failed', id: request.id, failure: toFailure(error) });
      }
      idle.finished();
      if (request.kind === 'close') port.close();
    });
  });
}

serve();
