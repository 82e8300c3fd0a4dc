/**
 * The median of `values`: the middle one, or with an even count the mean of the two in the middle,
 * rounded as the values are given (whole numbers stay whole, others keep two decimals). NaN for none.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[half];
  const mean = (sorted[half - 1] + sorted[half]) / 2;
  return values.every(Number.isInteger) ? Math.round(mean) : Math.round(mean * 100) / 100;
}

/**
 * `items` in the order run `run` (from 1) measures them. Each run starts one further along, so over
 * as many runs as there are items each one is measured first once; and every second run goes round
 * the other way (first item kept, the rest reversed), so that over two runs each item comes right
 * after each other one, and over twice as many runs as there are items each one is measured first,
 * last and in between twice.
 *
 * Measured always in the same order, whatever came first in a run read a higher p99 at a fixed
 * rate, whichever server it was. Measured always round the same way, each server would always
 * follow the same one, and meet in its first moments whatever that one left running (its collector's
 * threads, its database's thread, the kernel's work on its sockets).
 */
export function inTurn<T>(items: readonly T[], run: number): T[] {
  const start = (run - 1) % Math.max(1, items.length);
  const order = [...items.slice(start), ...items.slice(0, start)];
  return run % 2 === 1 ? order : [...order.slice(0, 1), ...order.slice(1).reverse()];
}

/** `value`'s ratio to `base` in each run that has both, in the order the runs first appear in `rows`. */
function rawRatiosByRun<T>(
  rows: readonly T[],
  runOf: (row: T) => number,
  value: (row: T) => number | undefined,
  base: (row: T) => number | undefined,
): number[] {
  return [...new Set(rows.map(runOf))].flatMap((run) => {
    const inRun = rows.filter((row) => runOf(row) === run);
    const over = inRun.map(value).find((figure) => figure !== undefined);
    const under = inRun.map(base).find((figure) => figure !== undefined);
    return over === undefined || under === undefined || under === 0 ? [] : [over / under];
  });
}

/** `value`'s ratio to `base` measured in the same run, one per run that has both, in run order, to two decimals. */
export function ratiosByRun<T>(
  rows: readonly T[],
  runOf: (row: T) => number,
  value: (row: T) => number | undefined,
  base: (row: T) => number | undefined,
): number[] {
  return rawRatiosByRun(rows, runOf, value, base).map((ratio) => Math.round(ratio * 100) / 100);
}

/**
 * The median over runs of `value`'s ratio to `base` measured in the same run, to two decimals;
 * NaN when no run has both. What the machine had to spare in a run moves both figures alike, and the
 * ratio leaves it out, where the medians of each, taken apart, keep it.
 */
export function medianOfRatios<T>(
  rows: readonly T[],
  runOf: (row: T) => number,
  value: (row: T) => number | undefined,
  base: (row: T) => number | undefined,
): number {
  const ratios = rawRatiosByRun(rows, runOf, value, base);
  return ratios.length === 0 ? Number.NaN : Math.round(median(ratios) * 100) / 100;
}
