/**
 * Orders strings by Unicode code point. JavaScript's default sort compares UTF-16 code units,
 * which puts U+E000–U+FFFF after astral characters such as emoji; UTF-8 bytes sort by code point.
 */
export function sortByCodePoint(values: Iterable<string>): string[] {
  return [...values]
    .map((value) => ({ value, key: Buffer.from(value, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map(({ value }) => value);
}

/** Negative when `a` comes before `b` in code point order, positive after, 0 when equal. */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
