/**
 * The benchmark's chart: deliveries/s at full speed and p99 SAY→RECV latency at the fixed rate,
 * against channel size, for the chat server, the reference and (when measured) the federated pair.
 * Plain SVG, so it renders on GitHub and in any browser.
 */

/** One row of a fan-out summary, as much of it as the chart needs. */
export interface ChartRow {
  readonly members: number;
  readonly senders: number;
  /** `window <n>` at full speed, `<n>/s` at a fixed rate. */
  readonly mode: string;
  readonly server: { readonly deliveriesPerSecond: number; readonly p99: number };
  readonly reference: { readonly deliveriesPerSecond: number; readonly p99: number };
}

interface Series {
  readonly label: string;
  readonly color: string;
  readonly dash?: string;
  readonly points: ReadonlyArray<readonly [size: number, value: number]>;
}

const WIDTH = 960;
const HEIGHT = 450;
const PANEL = { width: 380, height: 280, top: 70 };
const LEFT_PANELS = [80, 560];
const COLORS: Record<number, string> = { 1: '#1f77b4', 10: '#d62728' };
const FALLBACK_COLORS = ['#2ca02c', '#9467bd', '#8c564b'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step giving about five gridlines up to `max`. */
export function tickStep(max: number): number {
  if (!(max > 0)) return 1;
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough);
  return step ?? 10 * magnitude;
}

/** 1,500,000 → `1.5M`, 250,000 → `250k`, 12.5 → `12.5`. */
export function shortNumber(value: number): string {
  if (value >= 1e6) return `${Number((value / 1e6).toFixed(2))}M`;
  if (value >= 1e3) return `${Number((value / 1e3).toFixed(1))}k`;
  return String(Number(value.toFixed(2)));
}

function colorFor(senders: number, index: number): string {
  return COLORS[senders] ?? FALLBACK_COLORS[index % FALLBACK_COLORS.length];
}

function seriesOf(rows: readonly ChartRow[], fullSpeed: boolean, federation: readonly ChartRow[] | undefined): Series[] {
  const pick = (source: readonly ChartRow[], senders: number) =>
    source
      .filter((row) => row.senders === senders && row.mode.startsWith('window') === fullSpeed)
      .sort((a, b) => a.members - b.members);
  const value = (cell: ChartRow['server']) => (fullSpeed ? cell.deliveriesPerSecond : cell.p99);
  const senderCounts = [...new Set(rows.map((row) => row.senders))].sort((a, b) => a - b);
  const series: Series[] = [];
  senderCounts.forEach((senders, index) => {
    const color = colorFor(senders, index);
    const who = `${senders} sender${senders === 1 ? '' : 's'}`;
    series.push({ label: `server, ${who}`, color, points: pick(rows, senders).map((row) => [row.members, value(row.server)]) });
    series.push({
      label: `reference, ${who}`,
      color,
      dash: '6 4',
      points: pick(rows, senders).map((row) => [row.members, value(row.reference)]),
    });
    if (federation) {
      series.push({
        label: `federated pair, ${who}`,
        color,
        dash: '2 3',
        points: pick(federation, senders).map((row) => [row.members, value(row.server)]),
      });
    }
  });
  return series.filter((entry) => entry.points.length > 0);
}

/** Gridlines 1, 2, 5, 10, 20, 50, … from the decade below `min` to the decade above `max`. */
export function logTicks(min: number, max: number): number[] {
  const low = 10 ** Math.floor(Math.log10(Math.max(min, 1e-3)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(max, low * 10)));
  const ticks: number[] = [];
  for (let decade = low; decade < high; decade *= 10)
    for (const factor of [1, 2, 5]) ticks.push(Number((decade * factor).toPrecision(3)));
  ticks.push(high);
  return ticks;
}

interface Axis {
  readonly ticks: readonly number[];
  /** 0 at the bottom of the panel, 1 at the top. */
  position(value: number): number;
}

function linearAxis(max: number): Axis {
  const step = tickStep(max);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let tick = 0; tick <= top + step / 2; tick += step) ticks.push(tick);
  return { ticks, position: (value) => value / top };
}

function logAxis(min: number, max: number): Axis {
  const ticks = logTicks(min, max);
  const low = Math.log10(ticks[0]);
  const span = Math.log10(ticks[ticks.length - 1]) - low;
  return { ticks, position: (value) => (Math.log10(Math.max(value, ticks[0])) - low) / span };
}

function panel(
  left: number,
  title: string,
  note: string,
  unit: string,
  scale: 'linear' | 'log',
  sizes: readonly number[],
  series: readonly Series[],
): string {
  const { width, height, top } = PANEL;
  const values = series.flatMap((entry) => entry.points.map(([, value]) => value));
  const max = Math.max(0, ...values);
  const axis = scale === 'log' ? logAxis(Math.min(...values.filter((value) => value > 0), max || 1), max) : linearAxis(max);
  const x = (size: number) => left + (sizes.length === 1 ? width / 2 : (sizes.indexOf(size) / (sizes.length - 1)) * width);
  const y = (value: number) => top + height - axis.position(value) * height;
  const parts: string[] = [
    `<text x="${left + width / 2}" y="${top - 30}" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="${left + width / 2}" y="${top - 12}" text-anchor="middle" font-size="12" fill="#555">${escape(note)}</text>`,
  ];
  for (const tick of axis.ticks) {
    parts.push(`<line x1="${left}" x2="${left + width}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" font-size="12">${shortNumber(tick)}</text>`,
    );
  }
  for (const size of sizes) {
    parts.push(
      `<text x="${x(size)}" y="${top + height + 20}" text-anchor="middle" font-size="12">${size.toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(
    `<text x="${left + width / 2}" y="${top + height + 40}" text-anchor="middle" font-size="12">members in the channel</text>`,
  );
  parts.push(
    `<text transform="translate(${left - 58} ${top + height / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escape(unit)}</text>`,
  );
  parts.push(`<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#888"/>`);
  for (const entry of series) {
    const points = entry.points.map(([size, value]) => `${x(size).toFixed(1)},${y(value).toFixed(1)}`);
    const dash = entry.dash ? ` stroke-dasharray="${entry.dash}"` : '';
    parts.push(
      `<polyline fill="none" stroke="${entry.color}" stroke-width="2"${dash} points="${points.join(' ')}"><title>${escape(entry.label)}</title></polyline>`,
    );
    for (const [size, value] of entry.points) {
      parts.push(
        `<circle cx="${x(size).toFixed(1)}" cy="${y(value).toFixed(1)}" r="3" fill="${entry.color}"><title>${escape(`${entry.label}, ${size} members: ${shortNumber(value)} ${unit}`)}</title></circle>`,
      );
    }
  }
  return parts.join('\n');
}

function legend(series: readonly Series[]): string {
  const parts: string[] = [];
  const columnWidth = WIDTH / 3;
  series.forEach((entry, index) => {
    const left = 40 + (index % 3) * columnWidth;
    const top = HEIGHT - 48 + Math.floor(index / 3) * 18;
    const dash = entry.dash ? ` stroke-dasharray="${entry.dash}"` : '';
    parts.push(`<line x1="${left}" x2="${left + 30}" y1="${top}" y2="${top}" stroke="${entry.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${left + 38}" y="${top + 4}" font-size="12">${escape(entry.label)}</text>`);
  });
  return parts.join('\n');
}

/** `200/s`, or `200/s (40/s with 5,000 members)` when large channels ran at a lower rate. */
export function describeRates(rows: readonly ChartRow[]): string {
  const bySize = new Map<string, number[]>();
  for (const row of rows) {
    if (row.mode.startsWith('window')) continue;
    const sizes = bySize.get(row.mode) ?? [];
    if (!sizes.includes(row.members)) sizes.push(row.members);
    bySize.set(row.mode, sizes);
  }
  const [first, ...others] = [...bySize.entries()].sort((a, b) => Math.min(...a[1]) - Math.min(...b[1]));
  if (!first) return 'a fixed rate';
  if (others.length === 0) return first[0];
  const exceptions = others.map(
    ([mode, sizes]) => `${mode} with ${sizes.map((size) => size.toLocaleString('en-US')).join(', ')} members`,
  );
  return `${first[0]} (${exceptions.join('; ')})`;
}

/** The SVG document for a fan-out summary and, optionally, the federation scenario's summary. */
export function renderChart(fanout: readonly ChartRow[], federation?: readonly ChartRow[], subtitle = ''): string {
  const sizes = [...new Set([...fanout, ...(federation ?? [])].map((row) => row.members))].sort((a, b) => a - b);
  const throughput = seriesOf(fanout, true, federation);
  const latency = seriesOf(fanout, false, federation);
  const rate = describeRates(fanout);
  const window = fanout.find((row) => row.mode.startsWith('window'))?.mode.replace('window ', '') ?? 'a window of';
  const legendRows = Math.ceil(throughput.length / 3);
  const height = HEIGHT + Math.max(0, legendRows - 2) * 18;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    subtitle ? `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="12" fill="#555">${escape(subtitle)}</text>` : '',
    panel(
      LEFT_PANELS[0],
      'Deliveries/s at full speed',
      `${window} messages in flight`,
      'deliveries/s',
      'linear',
      sizes,
      throughput,
    ),
    panel(LEFT_PANELS[1], 'p99 SAY→RECV latency at a fixed rate', `${rate}; log scale`, 'ms', 'log', sizes, latency),
    legend(throughput),
    '</svg>',
    '',
  ].join('\n');
}
