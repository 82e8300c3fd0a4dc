/**
 * `npm run bench`: load scenarios against the chat server and, side by side in the same run, the
 * reference fan-out server (bench/reference-server.ts). Prints a table and writes reports/bench.json.
 */
import { Command, Option } from 'commander';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BenchClient } from './bench-client';
import { adminUrl, BENCH_DATABASES, BenchDatabase, checkPostgres, startBenchServer } from './bench-database';
import { renderChart } from './chart';
import { CapacityResult, GC_ON_SIGUSR2, measureCapacity } from './capacity';
import { runClusterScenario } from './cluster';
import { printCluster, summarizeCluster, summarizeSetupCosts } from './cluster-report';
import { closeRoom, FanoutMode, FanoutResult, measureFanout, measureRateInTurns, openRoom, Room } from './fanout';
import {
  FEDERATION_MODES,
  FederatedServer,
  FederationMode,
  linkLinesHandled,
  openFederatedRoom,
  startFederatedPair,
} from './federation';
import { LoginsResult, measureLogins, FLOOR_PARALLELISM } from './logins';
import type { WriteStrategy } from './reference-server';
import { FloorInputs, floorTable, printFloorTable } from './floor-table';
import { freePort, ServerProcess, startReferenceProcess } from './server-process';
import { printStartup, startup, summarizeStartup } from './startup';
import { inTurn, median, medianOfRatios, ratiosByRun } from './median';

const REPORT = join(__dirname, '..', 'reports', 'bench.json');
const HEAP_SNAPSHOT_SIGNAL = 'SIGWINCH';

const SCENARIOS = ['fanout', 'federation', 'logins', 'capacity', 'startup', 'cluster', 'reference'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** `cluster` needs PostgreSQL and redis-server, `reference` compares the reference's ways of writing: run only when named. */
const DEFAULT_SCENARIOS: Scenario[] = ['fanout', 'federation', 'logins', 'capacity', 'startup'];

interface Options {
  host?: string;
  port?: number;
  metricsUrl?: string;
  scenarios: Scenario[];
  databases: BenchDatabase[];
  loginUsers?: number;
  loginSeconds: number;
  bcryptCosts: number[];
  connections: number;
  runs: number;
  sizes: number[];
  senders: number[];
  federationModes: FederationMode[];
  seconds: number;
  window: number;
  rate: number;
  clusterSizes: number[];
  clusterInstances: number;
  xaddRequests: number;
  profile?: string;
  chart: string;
}

type Target = 'server' | 'reference';

interface FanoutRow extends FanoutResult {
  readonly target: Target;
  readonly run: number;
  /** Federation scenario, server rows: how the pair listed each other. */
  readonly federation?: FederationMode;
  /** Fan-out scenario, server rows: the database the server ran on. */
  readonly database?: BenchDatabase;
  /** Federation scenario, server rows: FED… lines the channel's server sent the other, per message said, by verb. */
  readonly linkLinesPerMessage?: Record<string, number>;
}

const list = (value: string) => value.split(',').map(Number);

function parseOptions(argv: string[]): Options {
  const program = new Command('bench')
    .description('Load scenarios against the chat server and the reference fan-out server.')
    .addOption(new Option('--host <host>', 'measure the chat server already running there instead of starting one'))
    .addOption(new Option('--port <port>', 'its port (with --host)').argParser(Number))
    .addOption(new Option('--metrics-url <url>', 'its /metrics (with --host, for the logins scenario)'))
    .option(
      '--scenarios <list>',
      `scenarios to run, of ${SCENARIOS.join(', ')} (cluster needs PostgreSQL and redis-server, and runs only when named)`,
      (value: string) => value.split(',') as Scenario[],
      DEFAULT_SCENARIOS,
    )
    .option(
      '--databases <list>',
      `databases the chat server runs on in fanout, logins, capacity and startup, of ${BENCH_DATABASES.join(', ')} (postgres: a new database per server on BENCH_DATABASE_URL's server, else TEST_DATABASE_URL's, else 127.0.0.1:5432)`,
      (value: string) => value.split(',') as BenchDatabase[],
      [...BENCH_DATABASES],
    )
    .option(
      '--bcrypt-costs <list>',
      'bcrypt costs of the server in the logins scenario, each measured in every run',
      list,
      [4, 10],
    )
    .option(
      '--login-seconds <n>',
      'length of a login storm: as many users as bcrypt alone registers and logs in in that time',
      Number,
      5,
    )
    .addOption(new Option('--login-users <n>', 'users in every login storm instead (REGISTER and LOGIN each)').argParser(Number))
    .option('--connections <n>', 'idle logged-in connections in the capacity scenario', Number, 19_000)
    .option('--runs <n>', 'runs of every scenario; the report gives the median', Number, 3)
    .option('--sizes <list>', 'fan-out channel sizes', list, [100, 1000, 5000])
    .option('--senders <list>', 'fan-out sender counts', list, [1, 10])
    .option(
      '--federation-modes <list>',
      `how the federated pair list each other, of ${FEDERATION_MODES.join(', ')} (plain: one FEDRECV per remote member; cast: extensions, one FEDCAST per server)`,
      (value: string) => value.split(',') as FederationMode[],
      [...FEDERATION_MODES],
    )
    .option('--seconds <n>', 'length of each measurement', Number, 5)
    .option('--window <n>', 'messages in flight at full speed (not yet received by every member)', Number, 32)
    .option(
      '--rate <n>',
      'messages per second at the fixed rate (lower for large channels: at most 200,000 deliveries/s)',
      Number,
      200,
    )
    .option('--cluster-sizes <list>', 'channel sizes of the cluster scenario', list, [1000])
    .option('--cluster-instances <n>', 'instances in the cluster scenario; the members are spread over 1 to n of them', Number, 3)
    .option(
      '--xadd-requests <n>',
      "XADDs redis-benchmark sends to the cluster scenario's Redis at its end (0: none)",
      Number,
      100_000,
    )
    .option('--chart <file>', 'where to write the SVG chart of the fan-out scenarios', join('reports', 'bench.svg'))
    .option(
      '--profile <dir>',
      'write a CPU profile of every chat server process started, and a heap snapshot of the loaded server and reference in the capacity scenario, to <dir>',
    );
  program.parse(argv);
  const options = program.opts<Options>();
  const unknown = options.scenarios.filter((name) => !SCENARIOS.includes(name));
  if (unknown.length > 0) program.error(`unknown scenario ${unknown.join(', ')}`);
  const unknownDatabases = options.databases.filter((name) => !BENCH_DATABASES.includes(name));
  if (unknownDatabases.length > 0) program.error(`unknown database ${unknownDatabases.join(', ')}`);
  const unknownModes = options.federationModes.filter((mode) => !FEDERATION_MODES.includes(mode));
  if (unknownModes.length > 0) program.error(`unknown federation mode ${unknownModes.join(', ')}`);
  return options;
}

/** Node options for a chat server process: CPU profile and heap snapshots on SIGWINCH with --profile. */
function profiling(options: Options): string[] {
  if (!options.profile) return [];
  const dir = resolve(options.profile);
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--diagnostic-dir=${dir}`, `--heapsnapshot-signal=${HEAP_SNAPSHOT_SIGNAL}`];
}

/** The chat server configuration of the fan-out scenarios: no limits in the way of the load. */
const FANOUT_LINES = ['limits:\n  exemptLoopback: true\n  sendQueueBytes: 67108864', 'bcryptCost: 4', 'logLevel: info'];

/** What one measurement runs against: a server, or the reference; a federated pair when `federation` is set. */
interface Setup {
  readonly target: Target;
  readonly federation?: FederationMode;
  /** Server rows: the database it runs on. */
  readonly database?: BenchDatabase;
}

/**
 * A room of `size` members on the target, and the processes that serve it (none with --host). For a
 * federated pair, `away` is the server without the channel.
 */
async function openTarget(
  { target, federation, database }: Setup,
  options: Options,
  scratch: string,
  size: number,
  tag: string,
): Promise<{ room: Room; processes: ServerProcess[]; away?: FederatedServer }> {
  if (target === 'reference') {
    const server = await startReferenceProcess();
    return served(await roomOn(server, 'the reference', size, tag), [server]);
  }
  if (federation) {
    if (options.host) throw new Error('the federation scenario starts its own pair of servers: leave out --host');
    const [home, away] = await startFederatedPair(scratch, federation, FANOUT_LINES, profiling(options));
    return { ...served(await openFederatedRoom(home, away, size, tag), [home.process, away.process]), away };
  }
  if (options.host) return { room: await openRoom(options.port ?? 4400, options.host, size, tag), processes: [] };
  const dir = mkdtempSync(join(scratch, 'server-'));
  const server = await startBenchServer(database ?? 'embedded', dir, ['host: 127.0.0.1', ...FANOUT_LINES], profiling(options));
  return served(await roomOn(server, `the chat server on ${database ?? 'embedded'}`, size, tag), [server]);
}

const LINES_ON_FAILURE = 20;

/** A room on a server this bench started; if it cannot be opened, the error names the server and ends with its last lines. */
async function roomOn(server: ServerProcess, what: string, size: number, tag: string): Promise<Room> {
  try {
    return await openRoom(server.port, '127.0.0.1', size, tag);
  } catch (error) {
    const recent = server.recentOutput().trimEnd().split('\n').slice(-LINES_ON_FAILURE).join('\n');
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n${what} (port ${server.port}) printed last:\n${recent}`, { cause: error });
  }
}

/** A room with the processes that serve it, whose CPU the measurements read. */
function served(room: Room, processes: ServerProcess[]): { room: Room; processes: ServerProcess[] } {
  const processIds = processes.flatMap((server) => (server.child.pid === undefined ? [] : [server.child.pid]));
  return { room: { ...room, processIds }, processes };
}

/** FED… lines handled between two readings, per message said. */
function perMessage(before: Map<string, number>, after: Map<string, number>, messages: number): Record<string, number> {
  const lines: Record<string, number> = {};
  for (const [verb, count] of after) {
    const sent = count - (before.get(verb) ?? 0);
    if (sent > 0) lines[verb] = Math.round((sent / messages) * 100) / 100;
  }
  return lines;
}

/** A target of one run and size, open: its room, its processes, and, federated, the server without the channel. */
interface OpenTarget {
  readonly setup: Setup;
  readonly name: string;
  readonly room: Room;
  readonly processes: ServerProcess[];
  readonly away?: FederatedServer;
}

/**
 * Every channel size, against the chat server (or, `federated`, a pair of federated chat servers
 * with the members split between them, in each of `--federation-modes`) and the reference, all
 * started afresh for each size and run and open together: each is measured at full speed in turn,
 * then all at the fixed rate in turns of a second (`measureRateInTurns`).
 */
async function fanout(options: Options, scratch: string, federated: boolean): Promise<FanoutRow[]> {
  const rows: FanoutRow[] = [];
  const scenario = federated ? 'federation' : 'fan-out';
  const setups: Setup[] = [
    ...(federated
      ? options.federationModes.map((federation) => ({ target: 'server' as const, federation }))
      : options.host
        ? [{ target: 'server' as const }]
        : options.databases.map((database) => ({ target: 'server' as const, database }))),
    { target: 'reference' },
  ];
  const row = (
    target: OpenTarget,
    run: number,
    result: FanoutResult,
    linkLinesPerMessage?: Record<string, number>,
  ): FanoutRow => {
    const { target: kind, federation, database } = target.setup;
    if (target.processes.some((server) => server.child.exitCode !== null))
      throw new Error(`a ${target.name} process exited during the measurement`);
    const link = linkLinesPerMessage ? `, link lines per message ${JSON.stringify(linkLinesPerMessage)}` : '';
    const cpu = result.cpuMicrosPerDelivery;
    const cpuPart = cpu ? `, CPU per delivery ${cpu.main} µs main thread + ${cpu.others} other threads` : '';
    console.error(
      `  run ${run} ${scenario} ${target.name} ${result.members} members ${result.senders} sender(s) ${result.mode}: ${result.deliveriesPerSecond} deliveries/s, p99 ${result.latencyMs.p99} ms, lost ${result.lost}${cpuPart}${link}`,
    );
    return { ...result, target: kind, run, federation, database, linkLinesPerMessage };
  };
  for (let run = 1; run <= options.runs; run++) {
    for (const size of options.sizes) {
      checkDescriptors(size * setups.length);
      const targets: OpenTarget[] = [];
      try {
        for (const setup of inTurn(setups, run)) {
          const { target, federation, database } = setup;
          const name = [target, federation, database].filter(Boolean).join(' ');
          const tag = `r${run}s${size}${(federation ?? database ?? target)[0]}${Date.now() % 100000}`;
          targets.push({ setup, name, ...(await openTarget(setup, options, scratch, size, tag)) });
        }
        for (const senders of options.senders) {
          const talking = Math.min(senders, size);
          for (const target of targets) {
            const linesBefore = await linkLinesNow(target);
            const result = await measureFanout(target.room, talking, {
              kind: 'window',
              inFlight: options.window,
              seconds: options.seconds,
            });
            rows.push(row(target, run, result, await linkLinesSince(target, linesBefore, result.messages)));
          }
          const rate = {
            kind: 'rate' as const,
            perSecond: Math.min(options.rate, Math.floor(200_000 / size)),
            seconds: options.seconds,
          };
          const linesBefore = await Promise.all(targets.map(linkLinesNow));
          const results = await measureRateInTurns(
            targets.map((target) => target.room),
            targets.map(() => talking),
            rate,
          );
          for (const [index, target] of targets.entries()) {
            rows.push(
              row(target, run, results[index], await linkLinesSince(target, linesBefore[index], results[index].messages)),
            );
          }
        }
      } finally {
        for (const target of targets) closeRoom(target.room);
        await Promise.all(targets.flatMap((target) => target.processes.map((server) => server.stop())));
      }
    }
  }
  return rows;
}

/** FED… lines the channel's server of a federated target has sent so far, by verb; nothing for other targets. */
async function linkLinesNow(target: OpenTarget): Promise<Map<string, number> | undefined> {
  return target.away ? linkLinesHandled(target.away) : undefined;
}

/** FED… lines per message said since `before` (`linkLinesNow`); nothing for targets that are not federated. */
async function linkLinesSince(
  target: OpenTarget,
  before: Map<string, number> | undefined,
  messages: number,
): Promise<Record<string, number> | undefined> {
  const after = await linkLinesNow(target);
  return before && after ? perMessage(before, after, messages) : undefined;
}

/**
 * Every target of a size is open at once, each member a connection of this process: fails at once,
 * saying so, when they would not fit under its limit on open files.
 */
function checkDescriptors(connections: number): void {
  let limits: string;
  try {
    limits = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return; // Not Linux: the system's own error says it if the connections do not fit.
  }
  const limit = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
  if (Number.isFinite(limit) && connections + DESCRIPTORS_SPARE > limit) {
    throw new Error(
      `the fan-out holds every target's members open at once: ${connections} connections, and this process may open ${limit} files; ask for smaller --sizes or fewer --databases`,
    );
  }
}

/** Descriptors the bench keeps for itself beyond the members' connections (its files, pipes, database clients). */
const DESCRIPTORS_SPARE = 200;

interface FanoutFigures {
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  p999: number;
  lost: number;
  /** µs per delivery in the main thread and the other threads (median of runs), when it was read. */
  cpuMicrosPerDelivery?: { main: number; others: number };
}

interface FanoutSummary {
  members: number;
  senders: number;
  mode: string;
  server: FanoutFigures;
  reference: FanoutFigures;
  ratio: number;
  /** The server's p99 over the reference's in the same run, median of the runs. */
  p99Ratio: number;
  /** The same ratio of each run, in run order: how far the runs spread, and in how many the server was at or below the floor. */
  p99RatiosByRun: number[];
  /** Federation scenario: FED… lines on the link per message said, by verb (median of runs). */
  linkLinesPerMessage?: Record<string, number>;
}

/** CPU per delivery as `main+others` µs, or a dash when it was not read. */
function cpuText(figures: FanoutFigures): string {
  const cpu = figures.cpuMicrosPerDelivery;
  return cpu ? `${cpu.main.toFixed(2)}+${cpu.others.toFixed(2)}` : '–';
}

function summarize(rows: FanoutRow[]): FanoutSummary[] {
  const keyOf = (row: FanoutRow) => `${row.members}|${row.senders}|${row.mode}`;
  const keys = [...new Set(rows.map(keyOf))];
  return keys.map((key) => {
    const inCell = rows.filter((row) => keyOf(row) === key);
    const cell = (target: Target) => {
      const matching = inCell.filter((row) => row.target === target);
      return {
        deliveriesPerSecond: median(matching.map((row) => row.deliveriesPerSecond)),
        p50: median(matching.map((row) => row.latencyMs.p50)),
        p99: median(matching.map((row) => row.latencyMs.p99)),
        p999: median(matching.map((row) => row.latencyMs.p999)),
        lost: Math.max(...matching.map((row) => row.lost)),
        ...(matching.every((row) => row.cpuMicrosPerDelivery) && {
          cpuMicrosPerDelivery: {
            main: median(matching.map((row) => row.cpuMicrosPerDelivery?.main ?? 0)),
            others: median(matching.map((row) => row.cpuMicrosPerDelivery?.others ?? 0)),
          },
        }),
      };
    };
    const [members, senders, mode] = key.split('|');
    const p99Of = (target: Target) => (row: FanoutRow) => (row.target === target ? row.latencyMs.p99 : undefined);
    const server = cell('server');
    const reference = cell('reference');
    const linked = inCell.filter((row) => row.linkLinesPerMessage);
    const verbs = [...new Set(linked.flatMap((row) => Object.keys(row.linkLinesPerMessage ?? {})))].sort();
    return {
      members: Number(members),
      senders: Number(senders),
      mode,
      server,
      reference,
      ratio: Math.round((server.deliveriesPerSecond / reference.deliveriesPerSecond) * 100) / 100,
      p99Ratio: medianOfRatios(inCell, (row) => row.run, p99Of('server'), p99Of('reference')),
      p99RatiosByRun: ratiosByRun(inCell, (row) => row.run, p99Of('server'), p99Of('reference')),
      ...(linked.length > 0 && {
        linkLinesPerMessage: Object.fromEntries(
          verbs.map((verb) => [verb, median(linked.map((row) => row.linkLinesPerMessage?.[verb] ?? 0))]),
        ),
      }),
    };
  });
}

function printFanout(title: string, summary: FanoutSummary[]): void {
  const withCpu = summary.some((row) => row.server.cpuMicrosPerDelivery && row.reference.cpuMicrosPerDelivery);
  const header = [
    'members',
    'senders',
    'mode',
    'server del/s',
    'reference del/s',
    'ratio',
    'server p50/p99/p99.9 ms',
    'reference p99 ms',
    ...(withCpu ? ['CPU µs/delivery server / reference'] : []),
    'lost',
    ...(summary.some((row) => row.linkLinesPerMessage) ? ['link lines/message'] : []),
  ];
  const rows = summary.map((row) => [
    String(row.members),
    String(row.senders),
    row.mode,
    row.server.deliveriesPerSecond.toLocaleString('en-US'),
    row.reference.deliveriesPerSecond.toLocaleString('en-US'),
    row.ratio.toFixed(2),
    `${row.server.p50} / ${row.server.p99} / ${row.server.p999}`,
    String(row.reference.p99),
    ...(withCpu ? [`${cpuText(row.server)} / ${cpuText(row.reference)}`] : []),
    String(row.server.lost + row.reference.lost),
    ...(row.linkLinesPerMessage
      ? [
          Object.entries(row.linkLinesPerMessage)
            .map(([verb, lines]) => `${verb} ${lines}`)
            .join(' + '),
        ]
      : []),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padStart(widths[column])).join('  ');
  console.log(`\n${title} (median of runs)`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

/** Login storms at each of `--bcrypt-costs`, the costs taking turns within a run. */
async function logins(options: Options, scratch: string): Promise<LoginsRow[]> {
  const results: LoginsRow[] = [];
  const databases: Array<BenchDatabase | undefined> = options.host ? [undefined] : options.databases;
  for (let run = 1; run <= options.runs; run++) {
    for (const bcryptCost of options.bcryptCosts) {
      for (const database of databases) {
        let target: { port: number; host: string; metricsUrl: string; server?: ServerProcess };
        if (options.host) {
          if (!options.metricsUrl) throw new Error('--metrics-url is needed with --host for the logins scenario');
          target = { port: options.port ?? 4400, host: options.host, metricsUrl: options.metricsUrl };
        } else {
          const dir = mkdtempSync(join(scratch, 'logins-'));
          const httpPort = await freePort();
          const server = await startBenchServer(
            database ?? 'embedded',
            dir,
            [
              'host: 127.0.0.1',
              'limits:\n  exemptLoopback: true',
              `http:\n  port: ${httpPort}`,
              `bcryptCost: ${bcryptCost}`,
              'logLevel: info',
            ],
            profiling(options),
          );
          target = { port: server.port, host: '127.0.0.1', metricsUrl: `http://127.0.0.1:${httpPort}/metrics`, server };
        }
        try {
          const result = await measureLogins({
            ...target,
            bcryptCost,
            users: options.loginUsers,
            seconds: options.loginSeconds,
            parallel: FLOOR_PARALLELISM,
            tag: `r${run}c${bcryptCost}t${Date.now() % 100000}`,
          });
          console.error(
            `  run ${run} logins${database ? ` ${database}` : ''} at cost ${bcryptCost}: ${result.users} users, ${result.usersPerSecond}/s (bcrypt alone ${result.bcryptAlonePerSecond}/s), ratio ${result.ratio}, event-loop lag p99 ${result.eventLoopLagMs.p99} ms`,
          );
          results.push({ ...result, database });
        } finally {
          await target.server?.stop();
        }
      }
    }
  }
  return results;
}

type LoginsRow = LoginsResult & { readonly database?: BenchDatabase };

function summarizeLogins(results: LoginsRow[]) {
  const costs = [...new Set(results.map((result) => result.bcryptCost))];
  return costs.map((bcryptCost) => {
    const runs = results.filter((result) => result.bcryptCost === bcryptCost);
    return {
      bcryptCost,
      users: median(runs.map((result) => result.users)),
      usersPerSecond: median(runs.map((result) => result.usersPerSecond)),
      bcryptAlonePerSecond: median(runs.map((result) => result.bcryptAlonePerSecond)),
      parallel: runs[0].parallel,
      ratio: median(runs.map((result) => result.ratio)),
      ratioRange: [Math.min(...runs.map((result) => result.ratio)), Math.max(...runs.map((result) => result.ratio))],
      eventLoopLagP99Ms: median(runs.map((result) => result.eventLoopLagMs.p99)),
      eventLoopLagMaxMs: Math.max(...runs.map((result) => result.eventLoopLagMs.max)),
    };
  });
}

function printLogins(summary: ReturnType<typeof summarizeLogins>, on: string): void {
  console.log(
    `\nlogins${on}: each user sends REGISTER and LOGIN at once (median of runs; bcrypt alone: one hash and one compare per user)`,
  );
  const header = ['cost', 'users', 'users/s', 'bcrypt alone/s', 'ratio', 'ratio range', 'lag p99 ms', 'lag max ms'];
  const rows = summary.map((row) => [
    String(row.bcryptCost),
    String(row.users),
    String(row.usersPerSecond),
    `${row.bcryptAlonePerSecond} (${row.parallel} at once)`,
    row.ratio.toFixed(2),
    `${row.ratioRange[0].toFixed(2)}–${row.ratioRange[1].toFixed(2)}`,
    String(row.eventLoopLagP99Ms),
    String(row.eventLoopLagMaxMs),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  for (const cells of [header, ...rows]) console.log(cells.map((cell, column) => cell.padStart(widths[column])).join('  '));
}

interface CapacityRow extends CapacityResult {
  readonly target: Target;
  readonly run: number;
  /** Server rows: the database it ran on. */
  readonly database?: BenchDatabase;
}

/** Idle connections on the chat server, then on the reference, each started afresh for every run. */
async function capacity(options: Options, scratch: string): Promise<CapacityRow[]> {
  if (options.host) throw new Error('the capacity scenario measures the memory of a server it starts itself: leave out --host');
  const rows: CapacityRow[] = [];
  for (let run = 1; run <= options.runs; run++) {
    const setups: Setup[] = [
      ...options.databases.map((database) => ({ target: 'server' as const, database })),
      { target: 'reference' },
    ];
    for (const { target, database } of setups) {
      const dir = mkdtempSync(join(scratch, 'capacity-'));
      const server =
        target === 'server'
          ? await startBenchServer(
              database ?? 'embedded',
              dir,
              ['host: 127.0.0.1', 'limits:\n  exemptLoopback: true', 'bcryptCost: 4', 'logLevel: info'],
              [...GC_ON_SIGUSR2, ...profiling(options)],
            )
          : await startReferenceProcess('127.0.0.1', ['--expose-gc', ...profiling(options)]);
      try {
        const result = await measureCapacity({
          port: server.port,
          host: '127.0.0.1',
          count: options.connections,
          rssKb: () => server.rssKb(),
          collectGarbage: () => server.child.kill('SIGUSR2'),
          whenLoaded: options.profile ? () => heapSnapshot(server) : undefined,
        });
        console.error(
          `  run ${run} capacity ${[target, database].filter(Boolean).join(' ')}: ${result.connections} connections, ${result.errors} errors, ${result.bytesPerConnection} bytes each`,
        );
        rows.push({ ...result, target, run, database });
      } finally {
        await server.stop();
      }
    }
  }
  return rows;
}

/** Has the server write a heap snapshot, and waits until it answers again (writing one stops it). */
async function heapSnapshot(server: ServerProcess): Promise<void> {
  server.child.kill(HEAP_SNAPSHOT_SIGNAL);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const probe = await BenchClient.connect('probe', server.port);
  try {
    // A line the reference answers as well as the server.
    probe.send('REGISTER probe probe\n');
    await probe.reply(300_000);
  } finally {
    probe.close();
  }
}

function summarizeCapacity(rows: CapacityRow[]) {
  const cell = (target: Target) => {
    const results = rows.filter((row) => row.target === target);
    return {
      connections: Math.min(...results.map((result) => result.connections)),
      errors: Math.max(...results.map((result) => result.errors)),
      baselineRssMiB: Math.round(median(results.map((result) => result.baselineRssKb)) / 1024),
      loadedRssMiB: Math.round(median(results.map((result) => result.loadedRssKb)) / 1024),
      bytesPerConnection: median(results.map((result) => result.bytesPerConnection)),
      projected100kMiB: median(results.map((result) => result.projected100kMiB)),
    };
  };
  const server = cell('server');
  const reference = cell('reference');
  return { server, reference, ratio: Math.round((server.bytesPerConnection / reference.bytesPerConnection) * 100) / 100 };
}

function printCapacity(summary: ReturnType<typeof summarizeCapacity>, on: string): void {
  console.log(`\ncapacity${on} (median of runs)`);
  for (const target of ['server', 'reference'] as const) {
    const cell = summary[target];
    console.log(
      `  ${target.padEnd(9)}  ${cell.connections} idle logged-in connections, ${cell.errors} errors; RSS ${cell.baselineRssMiB} MiB idle, ${cell.loadedRssMiB} MiB loaded: ${cell.bytesPerConnection} bytes per connection; 100,000 would need about ${cell.projected100kMiB} MiB`,
    );
  }
  console.log(`  ratio of bytes per connection, server/reference: ${summary.ratio.toFixed(2)}`);
}

const WRITE_STRATEGIES: readonly WriteStrategy[] = ['turn', 'cork', 'direct'];

interface ReferenceWritesRow extends Omit<FanoutResult, 'cpuMicrosPerDelivery'> {
  readonly writes: WriteStrategy;
  readonly run: number;
  /** Lines delivered per write system call of the reference (write and writev, from /proc/<pid>/io). */
  readonly linesPerWrite: number;
  /** CPU time of the reference (user and system, from /proc/<pid>/stat) per delivery, in µs. */
  readonly cpuMicrosPerDelivery: number;
}

/** Write system calls a process has made so far. */
function writeCalls(pid: number): number {
  return Number(/syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
}

/**
 * The reference with each way of writing its output (REFERENCE_WRITES), started afresh for every
 * size and run, the strategies taking turns within a run so a busy moment of the machine falls on
 * all of them.
 */
async function referenceWrites(options: Options): Promise<ReferenceWritesRow[]> {
  const rows: ReferenceWritesRow[] = [];
  for (let run = 1; run <= options.runs; run++) {
    for (const size of options.sizes) {
      for (const writes of WRITE_STRATEGIES) {
        const server = await startReferenceProcess('127.0.0.1', [], { REFERENCE_WRITES: writes });
        const { room } = served(
          await openRoom(server.port, '127.0.0.1', size, `w${run}s${size}${writes[0]}${Date.now() % 100000}`),
          [server],
        );
        try {
          for (const senders of options.senders) {
            const mode: FanoutMode = { kind: 'window', inFlight: options.window, seconds: options.seconds };
            const pid = server.child.pid as number;
            const calls = writeCalls(pid);
            const { cpuMicrosPerDelivery: cpu, ...result } = await measureFanout(room, Math.min(senders, size), mode);
            const linesPerWrite = Math.round((result.deliveries / (writeCalls(pid) - calls)) * 10) / 10;
            const cpuMicrosPerDelivery = cpu ? Math.round((cpu.main + cpu.others) * 100) / 100 : NaN;
            rows.push({ ...result, writes, run, linesPerWrite, cpuMicrosPerDelivery });
            console.error(
              `  run ${run} reference writes=${writes} ${size} members ${senders} sender(s): ${result.deliveriesPerSecond} deliveries/s, p99 ${result.latencyMs.p99} ms, ${linesPerWrite} lines per write, ${cpuMicrosPerDelivery} µs CPU per delivery`,
            );
          }
        } finally {
          closeRoom(room);
          await server.stop();
        }
      }
    }
  }
  return rows;
}

interface ReferenceWritesSummary {
  members: number;
  senders: number;
  /** Medians of each strategy, and its deliveries per second as a share of the fastest's. */
  strategies: Record<
    WriteStrategy,
    { deliveriesPerSecond: number; p99: number; linesPerWrite: number; cpuMicrosPerDelivery: number; ofFastest: number }
  >;
}

function summarizeReferenceWrites(rows: ReferenceWritesRow[]): ReferenceWritesSummary[] {
  const keys = [...new Set(rows.map((row) => `${row.members}/${row.senders}`))];
  return keys.map((key) => {
    const cells = rows.filter((row) => `${row.members}/${row.senders}` === key);
    const medians = WRITE_STRATEGIES.map((writes) => {
      const of = cells.filter((row) => row.writes === writes);
      return {
        writes,
        deliveriesPerSecond: median(of.map((row) => row.deliveriesPerSecond)),
        p99: median(of.map((row) => row.latencyMs.p99)),
        linesPerWrite: median(of.map((row) => row.linesPerWrite)),
        cpuMicrosPerDelivery: median(of.map((row) => row.cpuMicrosPerDelivery)),
      };
    });
    const fastest = Math.max(...medians.map((cell) => cell.deliveriesPerSecond));
    const strategies = Object.fromEntries(
      medians.map(({ writes, ...cell }) => [
        writes,
        { ...cell, ofFastest: Math.round((cell.deliveriesPerSecond / fastest) * 100) / 100 },
      ]),
    ) as ReferenceWritesSummary['strategies'];
    return { members: cells[0].members, senders: cells[0].senders, strategies };
  });
}

function printReferenceWrites(summary: ReferenceWritesSummary[]): void {
  console.log(
    '\nreference: ways of writing its output (medians: deliveries/s and its share of the fastest, lines per write system call, µs of CPU per delivery)',
  );
  const header = ['members', 'senders', ...WRITE_STRATEGIES];
  const body = summary.map((row) => [
    String(row.members),
    String(row.senders),
    ...WRITE_STRATEGIES.map((writes) => {
      const cell = row.strategies[writes];
      return `${cell.deliveriesPerSecond.toLocaleString('en-US')} (${cell.ofFastest.toFixed(2)}), ${cell.linesPerWrite} lines, ${cell.cpuMicrosPerDelivery} µs`;
    }),
  ]);
  const widths = header.map((title, index) => Math.max(title.length, ...body.map((cells) => cells[index].length)));
  for (const cells of [header, ...body]) console.log(cells.map((cell, index) => cell.padStart(widths[index])).join('  '));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const startsServers =
    !options.host && options.scenarios.some((name) => ['fanout', 'logins', 'capacity', 'startup'].includes(name));
  if (startsServers && options.databases.includes('postgres')) await checkPostgres(adminUrl());
  const onDatabase = (database: BenchDatabase) => (options.databases.length > 1 ? `, ${database} database` : '');
  const perDatabase = <T>(summary: (database: BenchDatabase) => T): Partial<Record<BenchDatabase, T>> =>
    Object.fromEntries(options.databases.map((database) => [database, summary(database)]));
  const floor: { -readonly [K in keyof FloorInputs]: FloorInputs[K] } = {};
  const scratch = mkdtempSync(join(tmpdir(), 'chat-bench-'));
  try {
    const report: Record<string, unknown> = {};
    const charted: { fanout?: FanoutSummary[]; federation?: FanoutSummary[] } = {};
    if (options.scenarios.includes('fanout')) {
      const rows = await fanout(options, scratch, false);
      const summaries = perDatabase((database) =>
        summarize(rows.filter((row) => row.target === 'reference' || row.database === database || options.host)),
      );
      for (const database of options.databases) printFanout(`fan-out${onDatabase(database)}`, summaries[database] ?? []);
      report.fanout = { summary: summaries, runs: rows };
      charted.fanout = summaries.embedded ?? summaries[options.databases[0]];
      floor.fanout = summaries;
    }
    if (options.scenarios.includes('federation')) {
      const rows = await fanout(options, scratch, true);
      const summaries: Partial<Record<FederationMode, FanoutSummary[]>> = {};
      for (const mode of options.federationModes) {
        const summary = summarize(rows.filter((row) => row.target === 'reference' || row.federation === mode));
        printFanout(`federation, ${mode}: members split over two federated servers; the reference is one server`, summary);
        summaries[mode] = summary;
      }
      report.federation = { summary: summaries, runs: rows };
      // The chart has one federated series: cast when measured, else plain.
      charted.federation = summaries.cast ?? summaries.plain;
    }
    if (options.scenarios.includes('logins')) {
      const results = await logins(options, scratch);
      if (options.host) {
        const summary = summarizeLogins(results);
        printLogins(summary, ` on ${options.host}`);
        report.logins = { summary, runs: results };
      } else {
        const summaries = perDatabase((database) => summarizeLogins(results.filter((row) => row.database === database)));
        for (const database of options.databases) printLogins(summaries[database] ?? [], onDatabase(database));
        report.logins = { summary: summaries, runs: results };
        floor.logins = summaries;
      }
    }
    if (options.scenarios.includes('capacity')) {
      const results = await capacity(options, scratch);
      const summaries = perDatabase((database) =>
        summarizeCapacity(results.filter((row) => row.target === 'reference' || row.database === database)),
      );
      for (const database of options.databases) {
        const summary = summaries[database];
        if (summary) printCapacity(summary, onDatabase(database));
      }
      report.capacity = { summary: summaries, runs: results };
      floor.capacity = summaries;
    }
    if (options.scenarios.includes('startup')) {
      if (options.host) throw new Error('the startup scenario starts its own servers: leave out --host');
      const runs = await startup(
        {
          runs: options.runs,
          adminUrl: options.databases.includes('postgres') ? adminUrl() : undefined,
          nodeOptions: profiling(options),
        },
        scratch,
      );
      const summary = summarizeStartup(runs);
      printStartup(summary);
      report.startup = { summary, runs };
      floor.startup = summary;
    }
    if (options.scenarios.includes('reference')) {
      const rows = await referenceWrites(options);
      const summary = summarizeReferenceWrites(rows);
      printReferenceWrites(summary);
      report.reference = { summary, runs: rows };
    }
    if (options.scenarios.includes('cluster')) {
      if (options.host) throw new Error('the cluster scenario starts its own servers, Redis and database: leave out --host');
      const result = await runClusterScenario(
        {
          runs: options.runs,
          sizes: options.clusterSizes,
          senders: options.senders,
          seconds: options.seconds,
          window: options.window,
          rate: options.rate,
          instances: options.clusterInstances,
          xaddRequests: options.xaddRequests,
          serverLines: FANOUT_LINES,
          nodeOptions: profiling(options),
          env: process.env,
        },
        scratch,
      );
      const summary = summarizeCluster(result.rows);
      const setup = summarizeSetupCosts(result.setupCosts);
      printCluster(summary, setup, result);
      report.cluster = {
        summary,
        setup,
        idleRss: result.idleRss,
        xaddPerSecond: result.xaddPerSecond,
        runs: result.rows,
        setupRuns: result.setupCosts,
      };
    }
    const table = floorTable(floor, options.databases);
    if (table.length > 0) {
      printFloorTable(table, options.databases);
      report.floor = table;
    }
    mkdirSync(join(__dirname, '..', 'reports'), { recursive: true });
    const machine = {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    };
    if (charted.fanout) {
      const chart = resolve(options.chart);
      mkdirSync(dirname(chart), { recursive: true });
      const subtitle = `${machine.cpus} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}; median of ${options.runs} run${options.runs === 1 ? '' : 's'}, ${new Date().toISOString().slice(0, 10)}`;
      writeFileSync(chart, renderChart(charted.fanout, charted.federation, subtitle));
      console.log(`\nchart: ${chart}`);
    }
    writeFileSync(REPORT, `${JSON.stringify({ date: new Date().toISOString(), machine, options, ...report }, null, 2)}\n`);
    console.log(`\nwritten: ${REPORT}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`bench: ${error.message}`);
  process.exit(1);
});
