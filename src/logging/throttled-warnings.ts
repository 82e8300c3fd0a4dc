/** Warnings with the same key are written at most once per this window. */
export const WARNING_WINDOW_MS = 60_000;
/** Keys remembered before the expired ones are swept. */
const SWEEP_ABOVE = 1000;

/**
 * Warnings that a client can cause again and again (a quota it keeps hitting), written at most
 * once per key and window: the first one is written at once, the others are counted and the count
 * goes with the next one written for that key.
 */
export class ThrottledWarnings {
  private readonly windows = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes `message` unless one for `key` was written within the window. */
  refuse(key: string, message: string): void {
    const now = this.now();
    const open = this.windows.get(key);
    if (open && open.until > now) {
      open.suppressed++;
      return;
    }
    if (!open && this.windows.size >= SWEEP_ABOVE) {
      for (const [each, window] of this.windows) if (window.until <= now) this.windows.delete(each);
    }
    this.windows.set(key, { until: now + WARNING_WINDOW_MS, suppressed: 0 });
    this.warn(open?.suppressed ? `${message} (and ${open.suppressed} more in the last minute)` : message);
  }
}
