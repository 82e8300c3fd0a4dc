const MINUTE_MS = 60_000;
const SWEEP_ABOVE_KEYS = 10_000;

/** Counts events per key over the last minute (login failures, registrations per address). */
export class MinuteCounter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Events for `key` in the last minute. */
  recent(key: string): number {
    const times = this.hits.get(key);
    if (!times) return 0;
    const since = this.now() - MINUTE_MS;
    while (times.length > 0 && times[0] <= since) times.shift();
    if (times.length === 0) this.hits.delete(key);
    return times.length;
  }

  record(key: string): void {
    if (this.hits.size > SWEEP_ABOVE_KEYS) this.sweep();
    const times = this.hits.get(key) ?? [];
    times.push(this.now());
    this.hits.set(key, times);
  }

  private sweep(): void {
    for (const key of [...this.hits.keys()]) this.recent(key);
  }
}
