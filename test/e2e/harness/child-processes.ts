import childProcess, { ChildProcess, PromiseWithChild } from 'node:child_process';
import { promisify } from 'node:util';
import { started, stopped } from './running';

/** How long a child process has to exit after SIGTERM before it gets SIGKILL. */
const TERM_GRACE_MS = 2000;
const KILL_WAIT_MS = 2000;

const LAUNCHERS = ['spawn', 'fork', 'exec', 'execFile'] as const;

/** Marks a wrapper with the function it wraps, so that installing twice never wraps a wrapper. */
const ORIGINAL: unique symbol = Symbol.for('chat-server.test-harness.original-launcher');

type Launcher = ((...args: never[]) => ChildProcess) & {
  [promisify.custom]?: (...args: never[]) => PromiseWithChild<unknown>;
  [ORIGINAL]?: Launcher;
};

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function exitWithin(exited: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** SIGTERM, then SIGKILL to its PID if it has not exited after a short grace. */
async function terminate(child: ChildProcess, pid: number): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  if (await exitWithin(exited, TERM_GRACE_MS)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  if (!(await exitWithin(exited, KILL_WAIT_MS))) throw new Error(`still running ${KILL_WAIT_MS} ms after SIGKILL`);
}

function adopt(child: ChildProcess): void {
  const pid = child.pid;
  // No PID: the launch failed ('error' follows) and nothing is running.
  if (pid === undefined || hasExited(child)) return;
  started(
    child,
    () => `child process ${pid} (${child.spawnargs.join(' ')})`,
    () => terminate(child, pid),
  );
  child.once('exit', () => stopped(child));
}

function tracking(original: Launcher): Launcher {
  const wrapper: Launcher = (...args) => {
    const child = original(...args);
    adopt(child);
    return child;
  };
  const custom = original[promisify.custom];
  // exec and execFile promisify to { stdout, stderr } through this; without it util.promisify would
  // quietly give stdout alone.
  if (custom) {
    wrapper[promisify.custom] = (...args) => {
      const promise = custom(...args);
      adopt(promise.child);
      return promise;
    };
  }
  wrapper[ORIGINAL] = original;
  return wrapper;
}

/**
 * Every child process started through node:child_process from now on is stopped by the sweep if a
 * test leaves it running. Tests import spawn and friends straight from node:child_process, and jest
 * hands every test file the same module object, so the harness wraps its functions in place.
 * Returns the call that puts the originals back.
 */
export function trackChildProcesses(): () => void {
  const launchers = childProcess as unknown as Record<(typeof LAUNCHERS)[number], Launcher>;
  const originals = LAUNCHERS.map((name) => {
    const original = launchers[name][ORIGINAL] ?? launchers[name];
    launchers[name] = tracking(original);
    return [name, original] as const;
  });
  return () => {
    for (const [name, original] of originals) launchers[name] = original;
  };
}
