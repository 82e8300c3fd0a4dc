import { ThrottledWarnings, WARNING_WINDOW_MS } from '../../src/logging/throttled-warnings';

describe('ThrottledWarnings', () => {
  test('writes the first warning of a key, counts the rest of the minute, and reports the count with the next one', () => {
    let now = 1_000_000;
    const written: string[] = [];
    const warnings = new ThrottledWarnings(
      (message) => written.push(message),
      () => now,
    );
    for (let i = 0; i < 1000; i++) warnings.refuse('mallory', 'CREATE by mallory refused');
    warnings.refuse('bob', 'CREATE by bob refused');
    expect(written).toEqual(['CREATE by mallory refused', 'CREATE by bob refused']);
    now += WARNING_WINDOW_MS;
    warnings.refuse('mallory', 'CREATE by mallory refused');
    expect(written[2]).toBe('CREATE by mallory refused (and 999 more in the last minute)');
  });

  test('keeps its memory bounded when many keys come and go', () => {
    let now = 0;
    const warnings = new ThrottledWarnings(
      () => undefined,
      () => now,
    );
    for (let i = 0; i < 5000; i++) {
      warnings.refuse(`user${i}`, 'refused');
      now += WARNING_WINDOW_MS;
    }
    expect((warnings as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThanOrEqual(1001);
  });
});
