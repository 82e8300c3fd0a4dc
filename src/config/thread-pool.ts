import { availableParallelism } from 'node:os';

/** libuv's own default for its thread pool, which runs bcrypt and Node's file and DNS calls. */
const LIBUV_DEFAULT = 4;

/** The size of libuv's thread pool in this process: `UV_THREADPOOL_SIZE`, or libuv's default. */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const size = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(size) && size >= 1 ? Math.min(size, 1024) : LIBUV_DEFAULT;
}

/**
 * How many bcrypt hashes are handed to libuv at once: every thread of its pool, and one more per
 * core waiting in libuv's queue. A pool thread that finishes a hash takes the next from that queue
 * at once. Were a thread left idle instead, the event loop would have to wake it for each hash: on
 * a busy machine the woken thread took the core from the event loop, whose hand-off then stalled
 * for up to milliseconds, the loop answered late, and the hashes it had not yet handed on left a
 * core idle. A file read or a DNS lookup (a federation link's) queued meanwhile waits for the
 * hashes ahead of it, at most one per core: about one hash's time.
 */
export function hashSlots(cores = availableParallelism(), poolSize = threadPoolSize()): number {
  return poolSize + Math.max(1, cores);
}

/**
 * Sizes libuv's thread pool to two threads more than the cores (at least libuv's four), unless
 * `UV_THREADPOOL_SIZE` is set. It takes effect only before the pool's first use: the server calls
 * it first thing.
 */
export function sizeThreadPool(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): void {
  if (env.UV_THREADPOOL_SIZE === undefined) env.UV_THREADPOOL_SIZE = String(Math.max(LIBUV_DEFAULT, cores + 2));
}
