/**
 * What tests started and have not stopped yet: servers, listeners, sockets, child processes. The
 * jest setup file (`stop-leftovers.ts`) stops what a test left running once the test and its own
 * after-hooks are done, and what the file left running once the file is done, so that a test which
 * throws or times out before its cleanup cannot leave a listener behind.
 */

interface Entry {
  readonly what: () => string;
  readonly stop: () => unknown;
}

class Scope {
  readonly running = new Map<object, Entry>();
  open = true;

  constructor(readonly name: string) {}
}

/** How long one thing may take to stop before the sweep reports it and moves on. */
const STOP_BOUND_MS = 10_000;

const fileScope = new Scope('this test file');
let current = fileScope;
const homes = new WeakMap<object, Scope>();

/**
 * `owner` is running and `stop` stops it. It belongs to the test that started it (in the test or its
 * beforeEach), or to the whole file (started in beforeAll), and keeps that home when restarted.
 */
export function started(owner: object, what: () => string, stop: () => unknown): void {
  let home = homes.get(owner);
  if (!home?.open) {
    home = current;
    homes.set(owner, home);
  }
  home.running.set(owner, { what, stop });
}

/** `owner` stopped (or is being stopped) by itself: nothing for the sweep to do. */
export function stopped(owner: object): void {
  homes.get(owner)?.running.delete(owner);
}

export function openTestScope(name: string): void {
  current = new Scope(name);
}

/** Stops what the current test left running. */
export async function closeTestScope(): Promise<void> {
  const scope = current;
  current = fileScope;
  if (scope === fileScope) return;
  scope.open = false;
  await stopAll(scope);
}

/** Stops what the test file left running. */
export async function closeFileScope(): Promise<void> {
  await closeTestScope();
  await stopAll(fileScope);
}

async function stopAll(scope: Scope): Promise<void> {
  const entries = [...scope.running.values()];
  scope.running.clear();
  const failures = (await Promise.all(entries.map(stopWithin))).filter((failure) => failure !== undefined);
  if (failures.length > 0) {
    throw new Error(`after ${scope.name}, the harness could not stop:\n  ${failures.join('\n  ')}`);
  }
}

async function stopWithin(entry: Entry): Promise<string | undefined> {
  const what = entry.what();
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${what}: still stopping after ${STOP_BOUND_MS} ms`), STOP_BOUND_MS);
  });
  const stopping = (async () => {
    try {
      await entry.stop();
      return undefined;
    } catch (error) {
      return `${what}: ${(error as Error).message}`;
    }
  })();
  try {
    return await Promise.race([stopping, overrun]);
  } finally {
    clearTimeout(timer);
  }
}
