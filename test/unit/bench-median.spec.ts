import { inTurn, median, medianOfRatios, ratiosByRun } from '../../bench/median';

describe('the bench median', () => {
  it('is the middle value of an odd count', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([7])).toBe(7);
  });

  it('is the mean of the two middle values of an even count, not either one', () => {
    expect(median([1_000, 1_200])).toBe(1_100);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(median([0.58, 0.61])).toBe(0.6);
  });

  it('keeps whole numbers whole and others to two decimals', () => {
    expect(median([3340, 3485])).toBe(3413);
    expect(median([10.7, 11.04])).toBe(10.87);
  });

  it('is NaN for no values', () => {
    expect(median([])).toBeNaN();
  });
});

describe('the order of the targets in a run', () => {
  it('starts one further along each run, and goes round the other way every second run', () => {
    const targets = ['embedded', 'postgres', 'reference'];
    expect(inTurn(targets, 1)).toEqual(['embedded', 'postgres', 'reference']);
    expect(inTurn(targets, 2)).toEqual(['postgres', 'embedded', 'reference']);
    expect(inTurn(targets, 3)).toEqual(['reference', 'embedded', 'postgres']);
    expect(inTurn(targets, 4)).toEqual(['embedded', 'reference', 'postgres']);
    expect(inTurn(targets, 5)).toEqual(['postgres', 'reference', 'embedded']);
    expect(inTurn(targets, 6)).toEqual(['reference', 'postgres', 'embedded']);
    expect(inTurn(targets, 7)).toEqual(targets);
    expect(targets).toEqual(['embedded', 'postgres', 'reference']);
  });

  it('over twice as many runs as targets, puts each first and last twice and after each other one three times', () => {
    const targets = ['a', 'b', 'c'];
    const orders = [1, 2, 3, 4, 5, 6].map((run) => inTurn(targets, run));
    const count = (key: (order: string[]) => string[]) => {
      const counts: Record<string, number> = {};
      for (const order of orders) for (const name of key(order)) counts[name] = (counts[name] ?? 0) + 1;
      return counts;
    };
    expect(count((order) => [order[0]])).toEqual({ a: 2, b: 2, c: 2 });
    expect(count((order) => [order[2]])).toEqual({ a: 2, b: 2, c: 2 });
    // Going round, a turn follows the one before it, and the first follows the last.
    const follows = count((order) => order.map((name, index) => `${order[(index + 2) % 3]}>${name}`));
    expect(follows).toEqual({ 'a>b': 3, 'a>c': 3, 'b>a': 3, 'b>c': 3, 'c>a': 3, 'c>b': 3 });
  });

  it('keeps a single target, and no targets', () => {
    expect(inTurn(['server'], 5)).toEqual(['server']);
    expect(inTurn([], 2)).toEqual([]);
  });
});

/** A p99 of one target in one run, as the fan-out rows carry it. */
interface Row {
  readonly run: number;
  readonly target: 'server' | 'reference';
  readonly p99: number;
}
const of = (target: Row['target']) => (row: Row) => (row.target === target ? row.p99 : undefined);

describe('the median of ratios run by run', () => {
  const ratio = (rows: Row[]) => medianOfRatios(rows, (row) => row.run, of('server'), of('reference'));

  it('pairs each run with itself, where the medians of each apart would not', () => {
    // A slow run slows both; the server is 10 % over the reference in every run.
    const rows: Row[] = [
      { run: 1, target: 'server', p99: 33 },
      { run: 1, target: 'reference', p99: 30 },
      { run: 2, target: 'reference', p99: 60 },
      { run: 2, target: 'server', p99: 66 },
      { run: 3, target: 'server', p99: 22 },
      { run: 3, target: 'reference', p99: 20 },
    ];
    expect(ratio(rows)).toBe(1.1);
    expect(ratio(rows.map((row) => (row.run === 2 && row.target === 'server' ? { ...row, p99: 30 } : row)))).toBe(1.1);
    expect(
      ratio(rows.map((row) => (row.run !== 1 && row.target === 'server' ? { ...row, p99: row.p99 / 1.1 / 1.1 } : row))),
    ).toBe(0.91);
  });

  it('leaves out a run that lacks either figure, and is NaN with none', () => {
    const rows: Row[] = [
      { run: 1, target: 'server', p99: 40 },
      { run: 1, target: 'reference', p99: 20 },
      { run: 2, target: 'server', p99: 10 },
      { run: 3, target: 'reference', p99: 10 },
    ];
    expect(ratio(rows)).toBe(2);
    expect(ratio(rows.filter((row) => row.run !== 1))).toBeNaN();
    expect(ratio([])).toBeNaN();
  });
});

describe('the ratios of each run', () => {
  const byRun = (rows: Row[]) => ratiosByRun(rows, (row) => row.run, of('server'), of('reference'));
  /** Rows from `[run, server's p99, reference's p99]`, both targets of a run given together. */
  const runs = (figures: number[][]): Row[] =>
    figures.flatMap(([run, server, reference]) => [
      { run, target: 'server', p99: server },
      { run, target: 'reference', p99: reference },
    ]);

  it('are one per run, in the order the runs first appear, to two decimals', () => {
    expect(
      byRun(
        runs([
          [2, 10, 9],
          [1, 5, 10],
        ]),
      ),
    ).toEqual([1.11, 0.5]);
  });

  it('leave out a run that lacks either figure', () => {
    const rows = runs([[1, 30, 20]]).concat({ run: 2, target: 'server', p99: 7 });
    expect(byRun(rows)).toEqual([1.5]);
    expect(byRun([])).toEqual([]);
  });
});
