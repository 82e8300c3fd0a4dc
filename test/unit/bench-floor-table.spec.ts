import { floorTable } from '../../bench/floor-table';

const cell = (p99: number, p99Ratio: number, p99RatiosByRun?: number[]) => ({
  members: 1000,
  senders: 1,
  mode: '200/s',
  server: { deliveriesPerSecond: 199_600, p99 },
  reference: { deliveriesPerSecond: 199_600, p99: 7.26 },
  p99Ratio,
  p99RatiosByRun,
});
const window = {
  members: 1000,
  senders: 1,
  mode: 'window 32',
  server: { deliveriesPerSecond: 2_200_000, p99: 19 },
  reference: { deliveriesPerSecond: 2_000_000, p99: 19.4 },
};

describe('the table against the floor', () => {
  const p99Row = (fanout: Parameters<typeof floorTable>[0]['fanout']) =>
    floorTable({ fanout }, ['embedded', 'postgres']).find((row) => row.measure.startsWith('p99'));

  it('gives the p99 at the fixed rate with its ratio run by run, their spread, and the runs at or below the floor', () => {
    const row = p99Row({
      embedded: [window, cell(8.88, 1.17, [0.52, 1.76, 0.76, 1, 2.27])],
      postgres: [window, cell(11.53, 1.4, [1.4])],
    });
    expect(row?.floor).toBe('7.26');
    expect(row?.servers.embedded).toBe("8.88 (1.17× run by run, runs 0.52–2.27, at or below the floor's in 3 of 5)");
    expect(row?.servers.postgres).toBe('11.53 (1.40× run by run)');
  });

  it('gives the p99 alone when no run had both figures', () => {
    expect(p99Row({ embedded: [window, cell(8.88, Number.NaN, [])] })?.servers.embedded).toBe('8.88');
  });

  it('gives the CPU per delivery at the fixed rate, main thread and other threads, when it was read', () => {
    const cpuRow = (fanout: Parameters<typeof floorTable>[0]['fanout']) =>
      floorTable({ fanout }, ['embedded', 'postgres']).find((row) => row.measure.startsWith('CPU'));
    const measured = (server: number) => ({
      ...cell(8.88, 1.17),
      server: { deliveriesPerSecond: 199_600, p99: 8.88, cpuMicrosPerDelivery: { main: server, others: 0.031 } },
      reference: { deliveriesPerSecond: 199_600, p99: 7.26, cpuMicrosPerDelivery: { main: 4.8, others: 0.005 } },
    });
    expect(cpuRow({ embedded: [window, measured(4.75)], postgres: [window, measured(4.9)] })).toEqual({
      measure: 'CPU per delivery at 200/s, µs: main thread + other threads',
      floor: '4.80 + 0.01',
      servers: { embedded: '4.75 + 0.03', postgres: '4.90 + 0.03' },
    });
    expect(cpuRow({ embedded: [window, cell(8.88, 1.17)] })).toBeUndefined();
  });

  it('puts each fan-out against the floor of the same cell', () => {
    const rows = floorTable({ fanout: { embedded: [window] } }, ['embedded']);
    expect(rows[0]).toEqual({
      measure: 'fan-out 1,000 members × 1 sender, deliveries/s',
      floor: '2,000,000',
      servers: { embedded: '2,200,000 (1.10×)' },
    });
  });
});
