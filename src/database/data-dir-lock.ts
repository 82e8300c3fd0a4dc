import { createHash } from 'node:crypto';
import { existsSync, realpathSync, unlinkSync } from 'node:fs';
import { connect, createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/** Another process (or another server in this process) has the embedded database folder open. */
export class DataDirInUse extends Error {
  constructor(
    readonly folder: string,
    readonly holder: string,
  ) {
    super(
      `the embedded database folder ${folder} is in use by ${holder}; stop that server, ` +
        'or give this one another folder (database.dataDir, CHAT_DATA_DIR)',
    );
  }
}

/** What a held lock tells a process that finds the folder taken. */
interface HolderInfo {
  readonly pid: number;
  readonly since: string;
}

const HOLDER_TIMEOUT_MS = 2000;

/** The absolute folder with symbolic links resolved, so two spellings of one folder share a lock. */
function canonical(folder: string): string {
  const absolute = resolve(folder);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  return existsSync(parent) ? join(realpathSync(parent), basename(absolute)) : absolute;
}

/**
 * Where the lock of `folder` listens. On Linux an abstract socket: the kernel removes it when the
 * holder exits, however it exits (SIGKILL included), so a crashed server never blocks the next
 * start. On Windows a named pipe, released the same way. Elsewhere a socket file in the temporary
 * folder, which a crash leaves behind: it is recognised as stale because nothing answers on it.
 */
function lockAddress(folder: string): { path: string; file: boolean } {
  const key = createHash('sha256').update(folder).digest('hex').slice(0, 32);
  if (process.platform === 'linux') return { path: `\0chat-server-data-${key}`, file: false };
  if (process.platform === 'win32') return { path: `\\\\?\\pipe\\chat-server-data-${key}`, file: false };
  return { path: join(tmpdir(), `chat-server-data-${key}.sock`), file: true };
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(path, () => {
      server.off('error', fail);
      done();
    });
  });
}

/** Asks the holder who it is; undefined when nothing answers (a stale socket file). */
function askHolder(path: string): Promise<HolderInfo | 'unknown' | undefined> {
  return new Promise((done) => {
    const socket = connect(path);
    let text = '';
    const finish = (answer: HolderInfo | 'unknown' | undefined) => {
      socket.destroy();
      done(answer);
    };
    socket.setTimeout(HOLDER_TIMEOUT_MS, () => finish('unknown'));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => {
      try {
        finish(JSON.parse(text) as HolderInfo);
      } catch {
        finish('unknown');
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ECONNREFUSED' ? undefined : 'unknown'));
  });
}

function describe(holder: HolderInfo | 'unknown'): string {
  if (holder === 'unknown') return 'another process';
  const self = holder.pid === process.pid ? ', this one' : '';
  return `process ${holder.pid}${self} (a chat server started at ${holder.since})`;
}

/** A held lock on one embedded database folder; `release()` gives it back. */
export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Takes the embedded database folder for this process, or throws DataDirInUse naming the process
 * that holds it. PGlite has no lock of its own, and two processes writing one folder lose each
 * other's writes.
 */
export async function lockDataDir(folder: string): Promise<DataDirLock> {
  const path = canonical(folder);
  const address = lockAddress(path);
  const info = JSON.stringify({ pid: process.pid, since: new Date().toISOString() } satisfies HolderInfo);
  for (let attempt = 0; ; attempt++) {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end(info);
    });
    try {
      await listen(server, address.path);
      server.unref();
      return { release: () => new Promise((done) => server.close(() => done())) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
    const holder = await askHolder(address.path);
    if (holder !== undefined || !address.file || attempt > 0) throw new DataDirInUse(path, describe(holder ?? 'unknown'));
    unlinkSync(address.path);
  }
}
