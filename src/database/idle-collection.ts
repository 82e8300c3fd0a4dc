import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What `IdleCollection` waits for before it collects. */
export interface IdleCollectionOptions {
  /** How long the thread must have had nothing to do. */
  readonly idleMs: number;
  /** How many statements must have run since the last collection. */
  readonly statements: number;
}

/**
 * After a burst of statements (a login storm: 10,000 users are 30,000 statements), the embedded
 * database's thread collects its garbage once it has been idle `idleMs`, if `statements` ran since
 * its last collection. V8 collects a heap when something allocates in it, and an idle thread
 * allocates nothing: without this the garbage of the burst stayed until the next one. A full
 * collection of the thread's heap takes some milliseconds, on that thread only; a statement
 * arriving meanwhile waits for it.
 */
export const IDLE_COLLECTION: IdleCollectionOptions = { idleMs: 1000, statements: 1000 };

/** V8's full collection of the calling thread's heap; undefined when it cannot be had. */
export function garbageCollector(): (() => void) | undefined {
  try {
    // V8 reads the flag when it makes a context: the new context has `gc`, for this thread's heap.
    setFlagsFromString('--expose-gc');
    const collect: unknown = runInNewContext('gc');
    return typeof collect === 'function' ? (collect as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `collect` once the statements it is told of have stopped for a while; see IDLE_COLLECTION. */
export class IdleCollection {
  private statements = 0;
  private running = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly collect: (() => void) | undefined,
    private readonly options: IdleCollectionOptions = IDLE_COLLECTION,
  ) {}

  /** A statement arrived: no collection while there is work. */
  started(): void {
    this.running++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * The database has just opened: the garbage of opening it (PGlite's loading, the warm-up, a
   * first creation's build) is collected once the thread is idle, as after a burst of statements.
   */
  opened(): void {
    this.statements = Math.max(this.statements, this.options.statements);
    this.whenIdle();
  }

  /** A statement was answered; with none left, the collection is due after the idle time. */
  finished(): void {
    this.statements++;
    this.running = Math.max(0, this.running - 1);
    this.whenIdle();
  }

  private whenIdle(): void {
    if (this.running > 0 || this.statements < this.options.statements || !this.collect) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.statements = 0;
      this.collect?.();
    }, this.options.idleMs);
    this.timer.unref();
  }
}
