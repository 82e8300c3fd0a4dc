import type { BenchDatabase } from './bench-database';

/** The parts of each scenario's summary the table reads: a target's fan-out figures, … */
interface FanoutFigures {
  readonly deliveriesPerSecond: number;
  readonly p99: number;
  readonly cpuMicrosPerDelivery?: { readonly main: number; readonly others: number };
}
interface FanoutCell {
  readonly members: number;
  readonly senders: number;
  readonly mode: string;
  readonly server: FanoutFigures;
  readonly reference: FanoutFigures;
  /** The server's p99 over the reference's in the same run, median of the runs. */
  readonly p99Ratio?: number;
  /** The same ratio of each run. */
  readonly p99RatiosByRun?: readonly number[];
}
interface LoginsCell {
  readonly bcryptCost: number;
  readonly usersPerSecond: number;
  readonly bcryptAlonePerSecond: number;
  readonly eventLoopLagP99Ms: number;
}
interface CapacityCell {
  readonly server: { readonly baselineRssMiB: number; readonly bytesPerConnection: number; readonly connections: number };
  readonly reference: { readonly baselineRssMiB: number; readonly bytesPerConnection: number };
}
interface StartupCell {
  readonly case: string;
  readonly listeningMs: number;
  readonly firstReplyMs: number;
}

export interface FloorInputs {
  readonly fanout?: Partial<Record<BenchDatabase, readonly FanoutCell[]>>;
  readonly logins?: Partial<Record<BenchDatabase, readonly LoginsCell[]>>;
  readonly capacity?: Partial<Record<BenchDatabase, CapacityCell>>;
  readonly startup?: readonly StartupCell[];
}

/** One figure: the floor's, and the server's on each database (with its ratio to the floor where one makes sense). */
export interface FloorRow {
  readonly measure: string;
  readonly floor: string;
  readonly servers: Partial<Record<BenchDatabase, string>>;
}

const count = (value: number) => value.toLocaleString('en-US');
/** CPU per delivery as `main + others` µs, when it was read. */
const cpuText = ({ cpuMicrosPerDelivery: cpu }: FanoutFigures) => cpu && `${cpu.main.toFixed(2)} + ${cpu.others.toFixed(2)}`;
const times = (value: number, floor: number) => `(${(value / floor).toFixed(2)}×)`;

/**
 * Every headline figure against the floor in one table: fan-out against the reference, p99 at a
 * fixed rate, memory after start and per idle connection against the reference's, logins against
 * bcrypt alone, and the start. A figure not measured in this run is left out.
 */
export function floorTable(inputs: FloorInputs, databases: readonly BenchDatabase[]): FloorRow[] {
  const rows: FloorRow[] = [];
  const each = (value: (database: BenchDatabase) => string | undefined) =>
    Object.fromEntries(
      databases.flatMap((database) => ((text) => (text === undefined ? [] : [[database, text]]))(value(database))),
    );
  const fanoutCell = (database: BenchDatabase, members: number, senders: number, window: boolean) =>
    inputs.fanout?.[database]?.find(
      (cell) => cell.members === members && cell.senders === senders && cell.mode.startsWith('window') === window,
    );
  const first = databases.find((database) => inputs.fanout?.[database]);
  for (const [members, senders] of [
    [1000, 1],
    [1000, 10],
    [5000, 1],
    [5000, 10],
  ]) {
    const floor = first && fanoutCell(first, members, senders, true)?.reference.deliveriesPerSecond;
    if (!floor) continue;
    rows.push({
      measure: `fan-out ${count(members)} members × ${senders} sender${senders === 1 ? '' : 's'}, deliveries/s`,
      floor: count(floor),
      servers: each((database) => {
        const cell = fanoutCell(database, members, senders, true);
        return (
          cell &&
          `${count(cell.server.deliveriesPerSecond)} ${times(cell.server.deliveriesPerSecond, cell.reference.deliveriesPerSecond)}`
        );
      }),
    });
  }
  const fixed = first && fanoutCell(first, 1000, 1, false);
  if (fixed) {
    rows.push({
      measure: `p99 at ${fixed.mode}, 1,000 members, ms`,
      floor: String(fixed.reference.p99),
      servers: each((database) => {
        const cell = fanoutCell(database, 1000, 1, false);
        if (!cell) return undefined;
        return `${cell.server.p99}${pairedP99(cell)}`;
      }),
    });
    const floorCpu = cpuText(fixed.reference);
    if (floorCpu) {
      rows.push({
        measure: `CPU per delivery at ${fixed.mode}, µs: main thread + other threads`,
        floor: floorCpu,
        servers: each((database) => {
          const cell = fanoutCell(database, 1000, 1, false);
          return cell && cpuText(cell.server);
        }),
      });
    }
  }
  const capacityOf = databases.map((database) => inputs.capacity?.[database]).find(Boolean);
  if (capacityOf) {
    rows.push({
      measure: 'RSS after start, before any client, MiB',
      floor: String(capacityOf.reference.baselineRssMiB),
      servers: each((database) => inputs.capacity?.[database]?.server.baselineRssMiB.toString()),
    });
    rows.push({
      measure: `bytes per idle logged-in connection (${count(capacityOf.server.connections)})`,
      floor: count(capacityOf.reference.bytesPerConnection),
      servers: each((database) => {
        const cell = inputs.capacity?.[database];
        return (
          cell &&
          `${count(cell.server.bytesPerConnection)} ${times(cell.server.bytesPerConnection, cell.reference.bytesPerConnection)}`
        );
      }),
    });
  }
  const costs = [...new Set(databases.flatMap((database) => inputs.logins?.[database]?.map((cell) => cell.bcryptCost) ?? []))];
  for (const cost of costs) {
    const loginsCell = (database: BenchDatabase) => inputs.logins?.[database]?.find((cell) => cell.bcryptCost === cost);
    const alone = databases.map(loginsCell).find(Boolean)?.bcryptAlonePerSecond;
    rows.push({
      measure: `users logged in per second, REGISTER + LOGIN, bcrypt cost ${cost} (floor: bcrypt alone)`,
      floor: alone === undefined ? '–' : count(alone),
      servers: each((database) => {
        const cell = loginsCell(database);
        return cell && `${count(cell.usersPerSecond)} ${times(cell.usersPerSecond, cell.bcryptAlonePerSecond)}`;
      }),
    });
    rows.push({
      measure: `event-loop lag p99 during those logins (cost ${cost}), ms`,
      floor: '–',
      servers: each((database) => loginsCell(database)?.eventLoopLagP99Ms.toString()),
    });
  }
  const started = (name: string) => inputs.startup?.find((cell) => cell.case === name);
  for (const [measure, embedded, postgres] of [
    ['launch to listening, existing database, ms', 'embedded, existing folder', 'PostgreSQL, existing database'],
    ['launch to listening, new database, ms', 'embedded, new folder', 'PostgreSQL, new database'],
  ]) {
    const cells: Partial<Record<BenchDatabase, StartupCell>> = { embedded: started(embedded), postgres: started(postgres) };
    if (!cells.embedded && !cells.postgres) continue;
    rows.push({
      measure,
      floor: '–',
      servers: each(
        (database) => cells[database] && `${cells[database].listeningMs} (first reply +${cells[database].firstReplyMs})`,
      ),
    });
  }
  return rows;
}

export function printFloorTable(rows: readonly FloorRow[], databases: readonly BenchDatabase[]): void {
  const names: Record<BenchDatabase, string> = { embedded: 'server, embedded', postgres: 'server, PostgreSQL' };
  const header = ['', 'floor', ...databases.map((database) => names[database])];
  const body = rows.map((row) => [row.measure, row.floor, ...databases.map((database) => row.servers[database] ?? '–')]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column].length)));
  console.log('\nagainst the floor (medians; the floor is the reference server, or bcrypt alone for logins)');
  for (const cells of [header, ...body]) {
    console.log(
      cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '),
    );
  }
}

/**
 * The server's p99 against the floor's run by run: the median ratio, and with several runs their
 * spread and how many were at or below the floor's, since a p99 moves far more between runs than
 * between servers.
 */
function pairedP99(cell: FanoutCell): string {
  if (cell.p99Ratio === undefined || Number.isNaN(cell.p99Ratio)) return '';
  const runs = cell.p99RatiosByRun ?? [];
  if (runs.length < 2) return ` (${cell.p99Ratio.toFixed(2)}× run by run)`;
  const low = Math.min(...runs).toFixed(2);
  const high = Math.max(...runs).toFixed(2);
  const atOrBelow = runs.filter((ratio) => ratio <= 1).length;
  return ` (${cell.p99Ratio.toFixed(2)}× run by run, runs ${low}–${high}, at or below the floor's in ${atOrBelow} of ${runs.length})`;
}
