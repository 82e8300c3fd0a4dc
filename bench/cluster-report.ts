import type { ClusterRow, ClusterScenarioResult, SetupCost } from './cluster';
import type { SetupPhase } from './spread-room';
import { median } from './median';

export interface ClusterSummaryRow {
  readonly setup: 'single' | 'cluster';
  readonly instances: number;
  readonly spread: number;
  readonly members: number;
  readonly senders: number;
  readonly mode: string;
  readonly deliveriesPerSecond: number;
  /** Deliveries/s over the single server's at the same size, senders and mode. */
  readonly ratioToSingle?: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly lost: number;
  readonly bus?: {
    readonly commandsPerSay: number;
    readonly xaddPerSay: number;
    readonly xreadPerSay: number;
    readonly otherPerSay: number;
    readonly bytesPerSay: number;
    readonly inputBytesPerSay: number;
    readonly outputBytesPerSay: number;
    readonly commandMicrosPerSay: number;
    readonly xaddMicrosPerSay: number;
    readonly xreadMicrosPerSay: number;
    readonly cpuMicrosPerSay: number;
    readonly entriesReadPerSay: number;
    readonly lagMeanMs: number;
    readonly lagMaxMs: number;
    readonly errors: number;
    readonly gaps: number;
  };
}

const keyOf = (row: { setup: string; spread: number; members: number; senders: number; mode: string }) =>
  `${row.setup}|${row.spread}|${row.members}|${row.senders}|${row.mode}`;

/** The median of the runs for each setup, spread, size, sender count and mode, in the order first measured. */
export function summarizeCluster(rows: readonly ClusterRow[]): ClusterSummaryRow[] {
  const groups = new Map<string, ClusterRow[]>();
  for (const row of rows) groups.set(keyOf(row), [...(groups.get(keyOf(row)) ?? []), row]);
  const summary = [...groups.values()].map((group): ClusterSummaryRow => {
    const [first] = group;
    const of = (pick: (row: ClusterRow) => number) => median(group.map(pick));
    const withBus = group.filter((row) => row.bus && row.activity);
    const bus = (pick: (row: ClusterRow) => number) => median(withBus.map(pick));
    const command = (row: ClusterRow, name: string) => row.bus?.commands[name] ?? 0;
    return {
      setup: first.setup,
      instances: first.instances,
      spread: first.spread,
      members: first.members,
      senders: first.senders,
      mode: first.mode,
      deliveriesPerSecond: of((row) => row.deliveriesPerSecond),
      p50: of((row) => row.latencyMs.p50),
      p99: of((row) => row.latencyMs.p99),
      p999: of((row) => row.latencyMs.p999),
      lost: Math.max(...group.map((row) => row.lost)),
      ...(withBus.length === 0
        ? {}
        : {
            bus: {
              commandsPerSay: bus((row) => row.bus?.commandsPerSay ?? 0),
              xaddPerSay: bus((row) => command(row, 'xadd')),
              xreadPerSay: bus((row) => command(row, 'xread')),
              otherPerSay: bus((row) =>
                Math.max(0, round2((row.bus?.commandsPerSay ?? 0) - command(row, 'xadd') - command(row, 'xread'))),
              ),
              bytesPerSay: bus((row) => (row.bus?.inputBytesPerSay ?? 0) + (row.bus?.outputBytesPerSay ?? 0)),
              inputBytesPerSay: bus((row) => row.bus?.inputBytesPerSay ?? 0),
              outputBytesPerSay: bus((row) => row.bus?.outputBytesPerSay ?? 0),
              commandMicrosPerSay: bus((row) => row.bus?.commandMicrosPerSay ?? 0),
              xaddMicrosPerSay: bus((row) => row.bus?.commandMicros.xadd ?? 0),
              xreadMicrosPerSay: bus((row) => row.bus?.commandMicros.xread ?? 0),
              cpuMicrosPerSay: bus((row) => row.bus?.cpuMicrosPerSay ?? 0),
              entriesReadPerSay: bus((row) => row.activity?.receivedPerSay ?? 0),
              lagMeanMs: bus((row) => row.activity?.lagMs.mean ?? 0),
              lagMaxMs: Math.max(...withBus.map((row) => row.activity?.lagMs.max ?? 0)),
              errors: Math.max(...withBus.map((row) => row.activity?.errors ?? 0)),
              gaps: Math.max(...withBus.map((row) => row.activity?.gaps ?? 0)),
            },
          }),
    };
  });
  return summary.map((row) => {
    const single = summary.find(
      (other) =>
        other.setup === 'single' && other.members === row.members && other.senders === row.senders && other.mode === row.mode,
    );
    if (!single || single.deliveriesPerSecond === 0) return row;
    return { ...row, ratioToSingle: Math.round((row.deliveriesPerSecond / single.deliveriesPerSecond) * 100) / 100 };
  });
}

export interface SetupCostSummary {
  readonly phase: SetupPhase;
  readonly members: number;
  readonly perSecond: number;
  readonly commandsPerMember: number;
  /** By command, per member. */
  readonly commands: Readonly<Record<string, number>>;
  readonly bytesPerMember: number;
}

/** Per phase of the rooms' set-up: the median over runs and spreads. */
export function summarizeSetupCosts(costs: readonly SetupCost[]): SetupCostSummary[] {
  const phases = [...new Set(costs.map((cost) => cost.phase))];
  return phases.map((phase) => {
    const group = costs.filter((cost) => cost.phase === phase);
    const names = [...new Set(group.flatMap((cost) => Object.keys(cost.perMember.commands)))].sort();
    return {
      phase,
      members: group[0].members,
      perSecond: median(group.map((cost) => cost.perSecond)),
      commandsPerMember: median(group.map((cost) => cost.perMember.commandsPerSay)),
      commands: Object.fromEntries(names.map((name) => [name, median(group.map((cost) => cost.perMember.commands[name] ?? 0))])),
      bytesPerMember: median(group.map((cost) => cost.perMember.inputBytesPerSay + cost.perMember.outputBytesPerSay)),
    };
  });
}

export function printCluster(
  summary: readonly ClusterSummaryRow[],
  setup: readonly SetupCostSummary[],
  result: ClusterScenarioResult,
): void {
  const header = [
    'setup',
    'members',
    'senders',
    'mode',
    'del/s',
    'vs single',
    'p50/p99/p99.9 ms',
    'lost',
    'Redis cmds/SAY (XADD+XREAD+other)',
    'bytes/SAY',
    'Redis CPU µs/SAY',
    'entries read/SAY',
    'bus lag mean/max ms',
  ];
  const rows = summary.map((row) => [
    row.setup === 'single' ? 'single server' : `${row.instances} instances, members on ${row.spread}`,
    String(row.members),
    String(row.senders),
    row.mode,
    row.deliveriesPerSecond.toLocaleString('en-US'),
    row.ratioToSingle === undefined ? '' : row.ratioToSingle.toFixed(2),
    `${row.p50} / ${row.p99} / ${row.p999}`,
    String(row.lost),
    row.bus ? `${row.bus.commandsPerSay} (${row.bus.xaddPerSay}+${row.bus.xreadPerSay}+${round2(row.bus.otherPerSay)})` : '',
    row.bus ? row.bus.bytesPerSay.toLocaleString('en-US') : '',
    row.bus ? String(row.bus.cpuMicrosPerSay) : '',
    row.bus ? String(row.bus.entriesReadPerSay) : '',
    row.bus ? `${row.bus.lagMeanMs} / ${row.bus.lagMaxMs}` : '',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padStart(widths[column])).join('  ');
  console.log('\ncluster: the fan-out on one server without cluster mode, then on instances sharing Redis (median of runs)');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(
    `  Redis CPU per SAY in its commands (commandstats): ${summary
      .filter((row) => row.bus)
      .map((row) => `${row.bus?.xaddMicrosPerSay} µs XADD + ${row.bus?.xreadMicrosPerSay} µs XREAD`)
      .join(', ')}`,
  );
  for (const phase of setup) {
    const commands =
      Object.entries(phase.commands)
        .filter(([, count]) => count > 0)
        .map(([name, count]) => `${count} ${name.toUpperCase()}`)
        .join(', ') || 'none';
    // A logout's time is mostly the wait for every instance to report it, not worth a rate.
    const rate = phase.phase === 'logout' ? '' : `${phase.perSecond}/s, `;
    console.log(
      `  ${phase.phase} (${phase.members} at once, in cluster mode): ${rate}${phase.commandsPerMember} Redis commands each (${commands}; a script's own commands count too), ${phase.bytesPerMember} bytes`,
    );
  }
  const rss = (setup: 'single' | 'cluster') =>
    result.idleRss.filter((entry) => entry.setup === setup).flatMap((entry) => entry.rssMiB);
  console.log(
    `  RSS just after start, MiB: single server ${rss('single').join(', ')}; cluster instances ${rss('cluster').join(', ')}`,
  );
  const xadd = result.xaddPerSecond;
  if (xadd) {
    const figure = (value?: number) => (value === undefined ? 'n/a' : Math.round(value).toLocaleString('en-US'));
    console.log('  redis-benchmark XADD on the same Redis, one connection / fifty connections:');
    console.log(`    appendfsync always (as above): ${figure(xadd.always.clients1)}/s / ${figure(xadd.always.clients50)}/s`);
    console.log(`    appendfsync everysec:          ${figure(xadd.everysec.clients1)}/s / ${figure(xadd.everysec.clients50)}/s`);
  }
}

const round2 = (value: number) => Math.round(value * 100) / 100;
