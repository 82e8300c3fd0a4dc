import { availableParallelism } from 'node:os';

/** libuv's own default for its thread pool, which runs bcrypt and Node's file and DNS calls. */
const LIBUV_DEFAULT = 4;

/** The size of libuv's thread pool in this process: `UV_THREADPOOL_SIZE`, or libuv's default. */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const size = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(size) && size >= 1 ? Math.min(size, 1024) : LIBUV_DEFAULT;
}

/**
 * How many bcrypt hashes run at once: one more than there are cores, so that while the event loop
 * hands a finished hash's slot to the next one every core still has a hash to run (with one per
 * core, two at once on two cores did 10–17 % fewer hashes a second than four), and one thread of
 * the pool fewer than it has, so a file read or a DNS lookup (a federation link's) never waits
 * behind a hash.
 */
export function hashSlots(cores = availableParallelism(), poolSize = threadPoolSize()): number {
  return Math.max(1, Math.min(cores + 1, poolSize - 1));
}

/**
 * Sizes libuv's thread pool for `hashSlots` and one thread more, unless `UV_THREADPOOL_SIZE` is
 * set. It takes effect only before the pool's first use: the server calls it first thing.
 */
export function sizeThreadPool(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): void {
  if (env.UV_THREADPOOL_SIZE === undefined) env.UV_THREADPOOL_SIZE = String(Math.max(LIBUV_DEFAULT, cores + 2));
}
