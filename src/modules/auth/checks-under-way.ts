/**
 * Password checks under way, per key (an account from an address, an address). A check that might
 * fail counts toward a failure limit until it is known not to have; `settled` lets a LOGIN that
 * would pass the limit only if the checks under way all succeed wait for one of them instead of
 * being refused or let through.
 */
export class ChecksUnderWay {
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Map<string, Array<() => void>>();

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  start(keys: readonly string[]): void {
    for (const key of keys) this.counts.set(key, this.count(key) + 1);
  }

  end(keys: readonly string[]): void {
    for (const key of keys) {
      const left = this.count(key) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
      const waiting = this.waiters.get(key);
      this.waiters.delete(key);
      for (const wake of waiting ?? []) wake();
    }
  }

  /** Resolves when a check under `key` ends (at once if none is under way). */
  settled(key: string): Promise<void> {
    if (this.count(key) === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.waiters.get(key);
      if (waiting) waiting.push(resolve);
      else this.waiters.set(key, [resolve]);
    });
  }
}
