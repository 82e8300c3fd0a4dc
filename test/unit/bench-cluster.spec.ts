import { busCost } from '../../bench/bus-cost';
import { benchDatabaseUrls, ClusterRow } from '../../bench/cluster';
import { summarizeCluster, summarizeSetupCosts } from '../../bench/cluster-report';
import { parseRedisBenchmark, parseRedisInfo, RedisCounters, respBulkBytes, respRequestBytes } from '../../bench/redis-process';
import { spreadMembers } from '../../bench/spread-room';

const INFO = [
  '# Stats',
  'total_connections_received:12',
  'total_commands_processed:4210',
  'total_net_input_bytes:123456',
  'total_net_output_bytes:654321',
  '',
  '# CPU',
  'used_cpu_sys:1.250000',
  'used_cpu_user:0.750000',
  '',
  '# Commandstats',
  'cmdstat_xadd:calls=1000,usec=12000,usec_per_call=12.00,rejected_calls=0,failed_calls=0',
  'cmdstat_xread:calls=2900,usec=30000,usec_per_call=10.34,rejected_calls=0,failed_calls=0',
  'cmdstat_client|setname:calls=6,usec=6,usec_per_call=1.00,rejected_calls=0,failed_calls=0',
  '',
].join('\r\n');

const counters = (overrides: Partial<RedisCounters>): RedisCounters => ({
  calls: {},
  usec: {},
  inputBytes: 0,
  outputBytes: 0,
  cpuSeconds: 0,
  ...overrides,
});

describe('bench cluster scenario', () => {
  it('spreads members round-robin over the instances', () => {
    expect(spreadMembers(7, 3)).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(spreadMembers(4, 1)).toEqual([0, 0, 0, 0]);
  });

  it('refuses to spread members over no instance', () => {
    expect(() => spreadMembers(3, 0)).toThrow('cannot spread members over 0 instances');
  });

  it('names a fresh database on the server of BENCH_DATABASE_URL, then TEST_DATABASE_URL, then the local one', () => {
    expect(
      benchDatabaseUrls({ BENCH_DATABASE_URL: 'postgres://u:p@db:5433/admin', TEST_DATABASE_URL: 'postgres://x@y/z' }, 'b1'),
    ).toEqual({
      admin: 'postgres://u:p@db:5433/admin',
      url: 'postgres://u:p@db:5433/b1',
    });
    expect(benchDatabaseUrls({ TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/chat_test' }, 'b2').url).toBe(
      'postgres://postgres@127.0.0.1:5432/b2',
    );
    expect(benchDatabaseUrls({}, 'b3')).toEqual({
      admin: 'postgres://postgres@127.0.0.1:5432/postgres',
      url: 'postgres://postgres@127.0.0.1:5432/b3',
    });
  });

  it('reads calls, bytes and CPU out of INFO', () => {
    expect(parseRedisInfo(INFO)).toEqual({
      calls: { xadd: 1000, xread: 2900, 'client|setname': 6 },
      usec: { xadd: 12000, xread: 30000, 'client|setname': 6 },
      inputBytes: 123456,
      outputBytes: 654321,
      cpuSeconds: 2,
    });
  });

  it('counts the bytes of a RESP request and of a bulk reply', () => {
    // *2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n
    expect(respRequestBytes(['INFO', 'stats'])).toBe(4 + 10 + 11);
    // $5\r\nhello\r\n
    expect(respBulkBytes('hello')).toBe(11);
    expect(respBulkBytes('é')).toBe(8);
  });

  it('takes the last rate redis-benchmark printed', () => {
    const output =
      'XADD k: rps=0.0 (overall: nan) avg_msec=nan\rXADD k MAXLEN ~ 100000 * t say: 12771.39 requests per second, p50=3.1 msec\n';
    expect(parseRedisBenchmark(output)).toBe(12771.39);
    expect(parseRedisBenchmark('Could not connect to Redis')).toBeUndefined();
  });

  it('divides the commands, bytes and CPU between two readings by the messages, leaving out INFO and its own bytes', () => {
    const before = counters({
      calls: { xadd: 10, xread: 30, info: 5 },
      usec: { xadd: 100, xread: 300 },
      inputBytes: 1000,
      outputBytes: 2000,
    });
    const after = counters({
      calls: { xadd: 110, xread: 330, info: 6, set: 1 },
      usec: { xadd: 1100, xread: 3300, set: 0 },
      inputBytes: 1000 + 40_000 + 30,
      outputBytes: 2000 + 50_000 + 4000,
      cpuSeconds: 0.05,
    });
    expect(busCost(before, after, 100, { inputBytes: 30, outputBytes: 4000 })).toEqual({
      messages: 100,
      commandsPerSay: 4.01,
      commands: { xadd: 1, xread: 3, set: 0.01 },
      inputBytesPerSay: 400,
      outputBytesPerSay: 500,
      commandMicrosPerSay: 40,
      commandMicros: { xadd: 10, xread: 30, set: 0 },
      cpuMicrosPerSay: 500,
    });
  });

  it('reports no cost per SAY when no message was sent', () => {
    expect(busCost(counters({}), counters({ calls: { xread: 3 } }), 0, { inputBytes: 0, outputBytes: 0 }).commandsPerSay).toBe(0);
  });

  it('summarizes runs by their median and compares each row with the single server', () => {
    const row = (setup: 'single' | 'cluster', spread: number, run: number, deliveriesPerSecond: number): ClusterRow => ({
      run,
      setup,
      instances: setup === 'single' ? 1 : 3,
      spread,
      members: 1000,
      senders: 1,
      mode: '200/s',
      messages: 1000,
      deliveries: 1_000_000,
      lost: 0,
      deliveriesPerSecond,
      latencyMs: { p50: run, p99: 10 * run, p999: 20 * run },
      ...(setup === 'cluster'
        ? {
            bus: {
              messages: 1000,
              commandsPerSay: 4,
              commands: { xadd: 1, xread: 2.9, set: 0.1 },
              inputBytesPerSay: 400,
              outputBytesPerSay: 500,
              commandMicrosPerSay: 40,
              commandMicros: { xadd: 12, xread: 28 },
              cpuMicrosPerSay: 100 * run,
            },
            activity: { publishedPerSay: 1, receivedPerSay: 3, errors: 0, gaps: 0, lagMs: { mean: run, max: 5 * run } },
          }
        : {}),
    });
    const summary = summarizeCluster([
      row('single', 1, 1, 200_000),
      row('single', 1, 2, 180_000),
      row('single', 1, 3, 190_000),
      row('cluster', 2, 1, 95_000),
      row('cluster', 2, 2, 100_000),
      row('cluster', 2, 3, 90_000),
    ]);
    expect(summary).toHaveLength(2);
    expect(summary[0]).toMatchObject({ setup: 'single', deliveriesPerSecond: 190_000, ratioToSingle: 1, p99: 20 });
    expect(summary[0].bus).toBeUndefined();
    expect(summary[1]).toMatchObject({ setup: 'cluster', spread: 2, deliveriesPerSecond: 95_000, ratioToSingle: 0.5 });
    expect(summary[1].bus).toMatchObject({
      xaddPerSay: 1,
      xreadPerSay: 2.9,
      bytesPerSay: 900,
      cpuMicrosPerSay: 200,
      lagMaxMs: 15,
    });
    expect(summary[1].bus?.otherPerSay).toBeCloseTo(0.1);
  });

  it('summarizes the set-up phases by their median over runs and spreads', () => {
    const cost = (run: number, commands: Record<string, number>) => ({
      run,
      spread: run,
      members: 1000,
      phase: 'login' as const,
      perSecond: 100 * run,
      perMember: {
        messages: 1000,
        commandsPerSay: Object.values(commands).reduce((sum, count) => sum + count, 0),
        commands,
        inputBytesPerSay: 100,
        outputBytesPerSay: 20 * run,
        commandMicrosPerSay: 5,
        commandMicros: {},
        cpuMicrosPerSay: 50,
      },
    });
    expect(summarizeSetupCosts([cost(1, { eval: 2 }), cost(2, { eval: 2, set: 0.01 }), cost(3, { eval: 2 })])).toEqual([
      { phase: 'login', members: 1000, perSecond: 200, commandsPerMember: 2, commands: { eval: 2, set: 0 }, bytesPerMember: 140 },
    ]);
  });
});
