import type { BuildPlan, Built } from './embedded-build';

/**
 * What the main thread and the embedded database's thread say to each other. Everything here
 * crosses threads by structured clone, so it is plain data: an error travels as a Failure and is
 * an Error again on the other side, with PostgreSQL's fields (code, detail, constraint …) intact.
 */

/** A result as `pg` gives it, which is what TypeORM's postgres driver reads. */
export interface QueryResult {
  readonly rows: unknown[];
  readonly rowCount: number;
  readonly command?: string;
  readonly fields: ReadonlyArray<{ readonly name: string; readonly dataTypeID: number }>;
}

/** From the main thread: a statement with parameters (`query`), a script without (`exec`), or the end. */
export type Request =
  | { readonly kind: 'query'; readonly id: number; readonly text: string; readonly params: readonly unknown[] }
  | { readonly kind: 'exec'; readonly id: number; readonly text: string }
  | { readonly kind: 'close'; readonly id: number };

/** From the database's thread: open (once), a request's answer, or why opening failed (no id). */
export type Reply =
  | { readonly kind: 'open'; readonly startMs: number; readonly built?: Built }
  | { readonly kind: 'done'; readonly id: number; readonly result?: QueryResult }
  | { readonly kind: 'failed'; readonly id?: number; readonly failure: Failure };

/** What the database's thread is given at its start, before it knows which folder it will open. */
export interface ThreadOptions {
  /** The module that exports `PGlite`: the package, or a stand-in in tests. */
  readonly pglite: string;
  /** PostgreSQL's WebAssembly and the bundle of files PGlite unpacks at its start, read ahead. */
  readonly code: { readonly wasm: string; readonly initdb: string; readonly data: string };
}

/** The main thread's first message: the folder to open, once the configuration has named it. */
export interface OpenRequest {
  readonly kind: 'open';
  /** The data folder: it holds a database, or `build` says how to make one in it first. */
  readonly folder: string;
  readonly build?: BuildPlan;
  /** PostgreSQL settings added to PGlite's own (`-c name=value` pairs). */
  readonly startParams: readonly string[];
}

/**
 * PGlite's options for code it would otherwise read and compile at every start: PostgreSQL's and
 * initdb's compiled `WebAssembly.Module`s (a type Node's declarations leave out), and the file
 * bundle, of which PGlite reads only `arrayBuffer()`.
 */
export interface PostgresCode {
  readonly pgliteWasmModule: object;
  readonly initdbWasmModule: object;
  readonly fsBundle: Pick<Blob, 'arrayBuffer'>;
}

/** An error or any other thrown value, as data. */
export interface Failure {
  readonly name: string;
  readonly message: string;
  /** Whether it was an Error: PGlite's file system throws plain objects (`{ name: 'ErrnoError', errno }`). */
  readonly isError: boolean;
  /** Its own fields whose values are strings, numbers or booleans: `code`, `errno`, `detail`, `constraint` … */
  readonly fields: Readonly<Record<string, string | number | boolean>>;
  readonly cause?: Failure;
}

const MAX_DEPTH = 5;

export function toFailure(value: unknown, depth = 0): Failure {
  if (typeof value !== 'object' || value === null) {
    return { name: 'Error', message: String(value), isError: false, fields: {} };
  }
  const record = value as Record<string, unknown>;
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, field] of Object.entries(record)) {
    if (key === 'message' || key === 'stack') continue;
    if (typeof field === 'string' || typeof field === 'number' || typeof field === 'boolean') fields[key] = field;
  }
  const cause = record.cause !== undefined && depth < MAX_DEPTH ? toFailure(record.cause, depth + 1) : undefined;
  return {
    name: typeof record.name === 'string' ? record.name : 'Error',
    message: typeof record.message === 'string' ? record.message : '',
    isError: value instanceof Error,
    fields,
    ...(cause ? { cause } : {}),
  };
}

/**
 * The Error a Failure stands for. A plain object thrown in the thread comes back as an Error with
 * the same name and fields, which plainFailure and errorCodeOf read the same way.
 */
export function fromFailure(failure: Failure): Error {
  const error = new Error(failure.message, failure.cause ? { cause: fromFailure(failure.cause) } : undefined);
  Object.assign(error, failure.fields);
  if (failure.name !== 'Error') error.name = failure.name;
  return error;
}
