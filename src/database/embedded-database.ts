import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataDirLock, lockDataDir } from './data-dir-lock';
import { BuildPlan, Built } from './embedded-build';
import { EmbeddedThread } from './embedded-thread';
import { isWriteFailure, plainFailure } from './plain-failure';
import { startupTimes } from '../startup-times';

/** Start-up progress, for the log: creating a database on a new folder takes seconds. */
export type Progress = (message: string) => void;

export interface EmbeddedDatabase {
  readonly thread: EmbeddedThread;
  readonly lock: DataDirLock;
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/**
 * Where new databases are copied from: one folder per PGlite version in the installation's
 * `node_modules/.cache`, made by the first creation that needs it. Unset: no template, initdb each
 * time. Tests point it elsewhere.
 */
export const templateLocation: { folder: string | undefined } = { folder: defaultTemplateFolder() };

function defaultTemplateFolder(): string | undefined {
  const entry = require.resolve('@electric-sql/pglite');
  const marker = `${sep}node_modules${sep}`;
  const at = entry.lastIndexOf(marker);
  if (at < 0) return undefined;
  const modules = entry.slice(0, at + marker.length - 1);
  const manifest = join(modules, '@electric-sql', 'pglite', 'package.json');
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return join(modules, '.cache', 'chat-server', `embedded-database-${version}`);
}

interface EarlyOpen {
  readonly opening: Promise<EmbeddedDatabase>;
  /** Hands the progress said so far, and what follows, to the server's log. */
  listen(progress: Progress): void;
}

const early = new Map<string, EarlyOpen>();

/**
 * Starts opening the database in `dataDir` at once, for the server that starts next in this
 * process: the database's thread starts PostgreSQL while the main thread loads the server's
 * modules. Taking the folder's lock needs this thread's event loop, which loading modules holds:
 * wait for `begun` (a few milliseconds) before loading them. The first openEmbeddedDatabase of that folder takes it over; `discard` closes it if
 * none did (the start failed before it got there).
 */
export function openEarly(dataDir: string, template?: string): { readonly begun: Promise<void>; discard(): Promise<void> } {
  const folder = resolve(dataDir);
  const said: string[] = [];
  let tell: Progress = (message) => said.push(message);
  let markBegun!: () => void;
  const begun = new Promise<void>((resolve) => (markBegun = resolve));
  const opening = open(folder, (message) => tell(message), template, markBegun);
  opening.then(markBegun, markBegun);
  early.set(folder, {
    opening,
    listen: (progress) => {
      said.forEach((message) => progress(message));
      tell = progress;
    },
  });
  return {
    begun,
    discard: async () => {
      if (early.get(folder)?.opening !== opening) return;
      early.delete(folder);
      const database = await opening.catch(() => undefined);
      if (!database) return;
      try {
        await database.thread.close();
      } finally {
        await database.lock.release();
      }
    },
  };
}

/**
 * Opens the embedded database in `dataDir` for this process alone, creating it on first use.
 * A new database is assembled in a folder inside `dataDir` (so it works on a mounted volume too)
 * and moved into place with PG_VERSION last, under a marker file: a start interrupted half-way
 * (Ctrl-C, a crash) leaves the marker, and the next start clears the folder and builds again.
 * `template` is where new databases are copied from (`templateLocation.folder` when unset).
 */
export function openEmbeddedDatabase(
  dataDir: string,
  progress: Progress = () => undefined,
  template?: string,
): Promise<EmbeddedDatabase> {
  const folder = resolve(dataDir);
  const opened = early.get(folder);
  if (!opened) return open(folder, progress, template);
  early.delete(folder);
  opened.listen(progress);
  return opened.opening;
}

const HOW: Readonly<Record<Built, string>> = {
  template: 'from the template',
  'new template': 'with a new template (once per installation)',
  initdb: 'by initdb (no template)',
};

/** `begun` hears when the database's thread has been started: from then on it works without this thread. */
async function open(
  folder: string,
  progress: Progress,
  template = templateLocation.folder,
  begun: () => void = () => undefined,
): Promise<EmbeddedDatabase> {
  const lock = await lockDataDir(folder);
  try {
    const build = existsSync(join(folder, 'PG_VERSION')) ? undefined : prepare(folder, progress, template && resolve(template));
    const started = performance.now();
    if (!build) progress(`opening the embedded database in ${folder}`);
    const opening = EmbeddedThread.open(folder, build);
    begun();
    const thread = await opening.catch(failed(folder, build ? 'created' : 'opened'));
    rmSync(join(folder, CREATING), { force: true });
    startupTimes.record('database', started);
    const how = thread.built ? `created ${HOW[thread.built]} and ` : '';
    progress(`embedded database ${how}open (${seconds(started)})`);
    return { thread, lock };
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

/** Readies an empty folder for a new database (clearing an interrupted creation) and says how it will be made. */
function prepare(folder: string, progress: Progress, template: string | undefined): BuildPlan {
  mkdirSync(folder, { recursive: true });
  const entries = readdirSync(folder);
  if (entries.includes(CREATING)) {
    progress(`removing the embedded database whose creation was interrupted in ${folder}`);
    for (const entry of entries) rmSync(join(folder, entry), { recursive: true, force: true });
  } else if (entries.length > 0) {
    throw new Error(`${folder} is not empty and holds no embedded database (no PG_VERSION): give an empty or new folder`);
  }
  writeFileSync(join(folder, CREATING), `${process.pid}\n`);
  const ready = template !== undefined && existsSync(join(template, 'PG_VERSION'));
  progress(
    ready
      ? `creating a new embedded database in ${folder} from the template in ${template}`
      : `creating a new embedded database in ${folder} (the first on this installation; this takes a few seconds)`,
  );
  return { building: join(folder, BUILDING), ...(template ? { template } : {}) };
}
