import { PGlite } from '@electric-sql/pglite';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { DataDirLock, lockDataDir } from './data-dir-lock';
import { isWriteFailure, plainFailure } from './plain-failure';

/** Start-up progress, for the log: creating a database on a new folder takes seconds. */
export type Progress = (message: string) => void;

export interface EmbeddedDatabase {
  readonly database: PGlite;
  readonly lock: DataDirLock;
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/**
 * Opens the embedded database in `dataDir` for this process alone, creating it on first use.
 * A new database is built in a folder inside `dataDir` (so it works on a mounted volume too) and
 * moved into place with PG_VERSION last, under a marker file: a start interrupted half-way
 * (Ctrl-C, a crash) leaves the marker, and the next start clears the folder and builds again.
 */
export async function openEmbeddedDatabase(dataDir: string, progress: Progress = () => undefined): Promise<EmbeddedDatabase> {
  const folder = resolve(dataDir);
  const lock = await lockDataDir(folder);
  try {
    if (!existsSync(join(folder, 'PG_VERSION'))) await create(folder, progress).catch(failed(folder, 'created'));
    rmSync(join(folder, CREATING), { force: true });
    const started = performance.now();
    progress(`opening the embedded database in ${folder}`);
    const database = await PGlite.create(folder).catch(failed(folder, 'opened'));
    progress(`embedded database open (${seconds(started)})`);
    return { database, lock };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/**
 * A failure to create or open the database as an Error naming the folder and the cause in words.
 * PGlite's file system throws objects that are not Errors (`{ name: 'ErrnoError', errno: 51 }`).
 */
function failed(folder: string, doing: 'created' | 'opened'): (error: unknown) => never {
  return (error) => {
    if (error instanceof Error && error.message.includes(folder)) throw error;
    const outcome = isWriteFailure(error) ? 'written' : doing;
    throw new Error(`the embedded database in ${folder} could not be ${outcome}: ${plainFailure(error)}`, { cause: error });
  };
}

/** Present from the start of a creation to its end. */
const CREATING = '.chat-server-creating';
const BUILDING = '.chat-server-building';

async function create(folder: string, progress: Progress): Promise<void> {
  mkdirSync(folder, { recursive: true });
  const entries = readdirSync(folder);
  if (entries.includes(CREATING)) {
    progress(`removing the embedded database whose creation was interrupted in ${folder}`);
    for (const entry of entries) rmSync(join(folder, entry), { recursive: true, force: true });
  } else if (entries.length > 0) {
    throw new Error(`${folder} is not empty and holds no embedded database (no PG_VERSION): give an empty or new folder`);
  }
  writeFileSync(join(folder, CREATING), `${process.pid}\n`);
  const started = performance.now();
  progress(`creating a new embedded database in ${folder} (first start; this takes a few seconds)`);
  const building = join(folder, BUILDING);
  await buildInWorker(building);
  const built = readdirSync(building).filter((entry) => entry !== 'PG_VERSION');
  for (const entry of [...built, 'PG_VERSION']) renameSync(join(building, entry), join(folder, entry));
  rmSync(building, { recursive: true });
  rmSync(join(folder, CREATING));
  progress(`embedded database created (${seconds(started)})`);
}

/**
 * Creating a database runs PostgreSQL's initdb, which holds its thread for seconds at a time. In a
 * worker thread it leaves the event loop free, so a signal during a first start is acted on at once.
 */
function buildInWorker(folder: string): Promise<void> {
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     require(workerData.pglite).PGlite.create(workerData.folder).then((database) => database.close());`,
    { eval: true, workerData: { pglite: require.resolve('@electric-sql/pglite'), folder } },
  );
  return new Promise((resolve, reject) => {
    let failure: unknown;
    worker.once('error', (error) => (failure = error));
    worker.once('exit', (code) => {
      if (code === 0 && failure === undefined) resolve();
      else if (failure instanceof Error) reject(failure);
      else if (failure !== undefined) reject(new Error(plainFailure(failure), { cause: failure }));
      else reject(new Error(`initdb stopped with exit code ${code}`));
    });
  });
}
