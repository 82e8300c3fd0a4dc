/**
 * Runs asynchronous tasks at most `limit` at a time; the rest wait, shared fairly between the keys
 * they are run under (a client's address for bcrypt). A freed slot goes to the key after the one
 * served last, round robin, and within a key to its oldest task, so one key with hundreds of tasks
 * waiting delays another key's task by at most one task per other waiting key, not by its queue.
 * Used to bound the CPU-heavy work handed to libuv's threads (bcrypt) to what keeps them busy
 * (`hashSlots()`), so a storm of it waits here, in turns, rather than in libuv's queue.
 */
export class ConcurrencyLimit {
  private running = 0;
  private waitingTotal = 0;
  /** Waiting tasks per key; a Map keeps insertion order, and a key served goes to the back. */
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }

  /** Tasks started and not yet settled. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waitingTotal;
  }

  /** Keys with tasks waiting. */
  get waitingKeys(): number {
    return this.waiting.size;
  }

  async run<T>(task: () => Promise<T>, key = ''): Promise<T> {
    if (this.running >= this.limit) await this.wait(key);
    else this.running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so nothing arriving meanwhile can jump the queue.
      const next = this.next();
      if (next) next();
      else this.running--;
    }
  }

  private wait(key: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const queue = this.waiting.get(key);
      if (queue) queue.push(resolve);
      else this.waiting.set(key, [resolve]);
      this.waitingTotal++;
    });
  }

  private next(): (() => void) | undefined {
    const first = this.waiting.entries().next();
    if (first.done) return undefined;
    const [key, queue] = first.value;
    const resume = queue.shift() as () => void;
    this.waiting.delete(key);
    if (queue.length > 0) this.waiting.set(key, queue);
    this.waitingTotal--;
    return resume;
  }
}
