import { ChartRow, describeRates, logTicks, renderChart, shortNumber, tickStep } from '../../bench/chart';

const row = (
  members: number,
  senders: number,
  mode: string,
  server: [number, number],
  reference: [number, number],
): ChartRow => ({
  members,
  senders,
  mode,
  server: { deliveriesPerSecond: server[0], p99: server[1] },
  reference: { deliveriesPerSecond: reference[0], p99: reference[1] },
});

const rows: ChartRow[] = [
  row(100, 1, 'window 32', [900_000, 30], [1_000_000, 25]),
  row(1000, 1, 'window 32', [2_000_000, 40], [2_100_000, 38]),
  row(100, 1, '200/s', [20_000, 1.5], [20_000, 1.2]),
  row(1000, 1, '200/s', [200_000, 12], [200_000, 10]),
  row(5000, 1, '40/s', [200_000, 30], [200_000, 28]),
  row(5000, 1, 'window 32', [1_800_000, 90], [1_900_000, 80]),
];

describe('bench chart', () => {
  it('picks round gridline steps', () => {
    expect(tickStep(2_100_000)).toBe(500_000);
    expect(tickStep(38)).toBe(10);
    expect(tickStep(9)).toBe(2);
    expect(tickStep(0)).toBe(1);
  });

  it('puts logarithmic gridlines at 1, 2 and 5 of every decade the values span', () => {
    expect(logTicks(1.5, 90)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(logTicks(0.4, 3)).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10]);
    expect(logTicks(10, 10)).toEqual([10, 20, 50, 100]);
  });

  it('shortens numbers for the axes', () => {
    expect(shortNumber(1_500_000)).toBe('1.5M');
    expect(shortNumber(250_000)).toBe('250k');
    expect(shortNumber(12.5)).toBe('12.5');
  });

  it('names the fixed rates, with the lower rate of large channels', () => {
    expect(describeRates(rows)).toBe('200/s (40/s with 5,000 members)');
    expect(describeRates(rows.filter((entry) => entry.members < 5000))).toBe('200/s');
    expect(describeRates([])).toBe('a fixed rate');
  });

  it('draws one line per target and sender count in each panel, through every channel size', () => {
    const federation = [
      row(100, 1, 'window 32', [500_000, 50], [1_000_000, 25]),
      row(1000, 1, 'window 32', [700_000, 60], [2_100_000, 38]),
    ];
    const svg = renderChart(rows, federation, 'a subtitle & more');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"><title>([^<]*)<\/title>/g)].map((match) => ({
      label: match[2],
      points: match[1].split(' ').length,
    }));
    expect(lines).toEqual([
      { label: 'server, 1 sender', points: 3 },
      { label: 'reference, 1 sender', points: 3 },
      { label: 'federated pair, 1 sender', points: 2 },
      { label: 'server, 1 sender', points: 3 },
      { label: 'reference, 1 sender', points: 3 },
    ]);
    expect(svg).toContain('server, 1 sender, 1000 members: 2M deliveries/s');
    expect(svg).toContain('reference, 1 sender, 5000 members: 28 ms');
    expect(svg).toContain('p99 SAY→RECV latency at a fixed rate');
    expect(svg).toContain('200/s (40/s with 5,000 members); log scale');
    expect(svg).toContain('32 messages in flight');
    expect(svg).toContain('a subtitle &amp; more');
    expect(svg).not.toMatch(/NaN|undefined/);
  });
});
