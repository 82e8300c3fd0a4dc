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
