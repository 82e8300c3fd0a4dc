import { availableParallelism, setPriority } from 'node:os';
import { access, readdirSync } from 'node:fs';

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

/**
 * The niceness of libuv's pool threads; the event loop keeps the process's own. bcrypt runs there,
 * with more hashes than cores at once, and the event loop otherwise waited its turn for a core
 * behind them: timers and sockets were served late. At 10 the kernel weighs the loop's claim to a
 * core about nine times a pool thread's.
 */
export const POOL_NICENESS = 10;

/** What `lowerPoolPriority` needs of the system; the default reads `/proc/self/task` and asks libuv. */
export interface ThreadControl {
  /** The ids of this process's threads; throws where there is no `/proc`. */
  threads(): string[];
  /** Queues a job on libuv's pool; its first job starts all of its threads before the call returns. */
  startPool(): void;
  setNiceness(threadId: number, niceness: number): void;
}

const systemThreads: ThreadControl = {
  threads: () => readdirSync('/proc/self/task'),
  startPool: () => access('/', () => undefined),
  setNiceness: (threadId, niceness) => setPriority(threadId, niceness),
};

/**
 * Starts libuv's pool and gives its threads `POOL_NICENESS`; the rest of the process keeps its own.
 * The pool's threads are the ones its start adds: if they are not `size` (the pool had started
 * already, or another thread started meanwhile, or there is no `/proc`), nothing is changed; a
 * thread whose niceness cannot be set keeps its own. On Linux a niceness set on a thread id is that
 * thread's alone. It does not wait for the job: libuv has made the threads when the call returns.
 * Returns the threads lowered.
 */
export function lowerPoolPriority(
  control: ThreadControl = systemThreads,
  size = threadPoolSize(),
  niceness = POOL_NICENESS,
): number {
  let before: Set<string>;
  try {
    before = new Set(control.threads());
  } catch {
    return 0;
  }
  control.startPool();
  const added = control.threads().filter((id) => !before.has(id));
  if (added.length !== size) return 0;
  let lowered = 0;
  for (const id of added) {
    try {
      control.setNiceness(Number(id), niceness);
      lowered++;
    } catch {
      // A system that refuses (a sandbox without setpriority) keeps the threads as they were.
    }
  }
  return lowered;
}
