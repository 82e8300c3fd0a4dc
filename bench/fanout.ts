import * as hdr from 'hdr-histogram-js';
import { BenchClient, connectMany, micros, StampHandler } from './bench-client';
import { cpuBetween, processesCpu, ThreadsCpu } from './process-cpu';

/** Members of one channel, the first `senders` of which talk. */
export interface Room {
  readonly members: readonly BenchClient[];
  /** The name each member uses for the channel (`room` on its server, `room:<host>` from a peer). */
  readonly channels: readonly string[];
  /** The processes that serve it, on this machine: a measurement reads the CPU they use. */
  readonly processIds?: readonly number[];
}

export type FanoutMode =
  | { readonly kind: 'window'; readonly inFlight: number; readonly seconds: number }
  | { readonly kind: 'rate'; readonly perSecond: number; readonly seconds: number };

export interface FanoutResult {
  readonly members: number;
  readonly senders: number;
  readonly mode: string;
  readonly messages: number;
  readonly deliveries: number;
  readonly lost: number;
  readonly deliveriesPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly p999: number };
  /**
   * CPU per delivery in µs, in the room's processes (`Room.processIds`): their main threads, where
   * the event loop writes every RECV, and their other threads (V8's compiler and collector helpers,
   * the embedded database's thread). Read from /proc in clock ticks of 10 ms; absent without it.
   */
  readonly cpuMicrosPerDelivery?: { readonly main: number; readonly others: number };
}

const DRAIN_QUIET_MS = 5000;

/** `size` clients, each registered, logged in and joined to one fresh channel. */
export async function openRoom(port: number, host: string, size: number, tag: string): Promise<Room> {
  const channel = `room${tag}`;
  const members = await connectMany(`${tag}u`, size, port, host);
  // Everyone registers and logs in at once; the first member creates the channel before anyone joins it.
  await Promise.all(
    members.map((member) =>
      member.exchange([`REGISTER ${member.name} pw`, `LOGIN ${member.name} pw`], ['RESULT REGISTER 1', 'RESULT LOGIN 1']),
    ),
  );
  await members[0].exchange([`CREATE ${channel}`], [`RESULT CREATE ${channel} 1`]);
  await Promise.all(members.map((member) => member.exchange([`JOIN ${channel}`], [`RESULT JOIN ${channel} 1`])));
  return { members, channels: members.map(() => channel) };
}

export function closeRoom(room: Room): void {
  for (const member of room.members) member.close();
}

/** Latencies in µs, from 1 µs to 10 minutes, to three significant digits. */
function latencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

/** What one stretch of a fan-out measurement counted; its latencies go to the histogram it was given. */
interface Stretch {
  readonly messages: number;
  readonly deliveries: number;
  readonly lost: number;
  /** From the first message said to the last RECV read, in µs. */
  readonly micros: number;
  /** CPU the room's processes used over the stretch, in ms, when they are known. */
  readonly cpuMs?: ThreadsCpu;
}

/**
 * Senders say messages stamped `<sender>.<sequence>.<send time in µs>`; every member's RECV gives
 * one latency sample.
 * `window`: at full speed, with at most `inFlight` messages not yet received by every member (a
 * sender says its next message when one of its own has reached everyone).
 * `rate`: a fixed number of messages per second, spread over the senders.
 */
export async function measureFanout(room: Room, senders: number, mode: FanoutMode): Promise<FanoutResult> {
  const histogram = latencyHistogram();
  return summary(room, senders, mode, histogram, [await fanoutStretch(room, senders, mode, histogram)]);
}

/**
 * The fixed rate on several rooms (each on its own server) in turns of `turnSeconds`, until each has
 * had `mode.seconds`: the first room, the second, …, the last, then the first again. Every turn
 * follows another room's (with one room, its own), so no server gets two turns in a row, which
 * another would not: a server just measured meets the next second warmer than one that has waited.
 * A room's latencies from all its turns make one histogram, and so one p99.
 *
 * Measured one after another, each for the whole time, the servers met different machines: on these
 * two shared cores the CPU each message costs moves by up to two fifths from one minute to the
 * next, for every process at once, and the p99 at the fixed rate moves with it several times more
 * than it differs between the servers. In turns of a second, every server meets the same machine.
 */
export async function measureRateInTurns(
  rooms: readonly Room[],
  senders: readonly number[],
  mode: Extract<FanoutMode, { kind: 'rate' }>,
  turnSeconds = 1,
): Promise<FanoutResult[]> {
  const histograms = rooms.map(() => latencyHistogram());
  const stretches: Stretch[][] = rooms.map(() => []);
  const turns = Math.max(1, Math.round(mode.seconds / turnSeconds));
  const turn = { ...mode, seconds: mode.seconds / turns };
  for (let round = 0; round < turns; round++) {
    for (const [index, room] of rooms.entries()) {
      stretches[index].push(await fanoutStretch(room, senders[index], turn, histograms[index]));
    }
  }
  return rooms.map((room, index) => summary(room, senders[index], mode, histograms[index], stretches[index]));
}

/** A measurement's figures from its stretches, its latencies read from `histogram`. */
function summary(
  room: Room,
  senders: number,
  mode: FanoutMode,
  histogram: hdr.Histogram,
  stretches: readonly Stretch[],
): FanoutResult {
  const total = (field: Exclude<keyof Stretch, 'cpuMs'>) => stretches.reduce((sum, stretch) => sum + stretch[field], 0);
  const ms = (percentile: number) => Math.round(histogram.getValueAtPercentile(percentile) / 10) / 100;
  const cpu = stretches.every((stretch) => stretch.cpuMs) && total('deliveries') > 0;
  const perDelivery = (thread: keyof ThreadsCpu) =>
    Math.round((stretches.reduce((sum, stretch) => sum + (stretch.cpuMs?.[thread] ?? 0), 0) * 1e6) / total('deliveries')) / 1000;
  return {
    members: room.members.length,
    senders,
    mode: mode.kind === 'window' ? `window ${mode.inFlight}` : `${mode.perSecond}/s`,
    messages: total('messages'),
    deliveries: total('deliveries'),
    lost: total('lost'),
    deliveriesPerSecond: Math.round(total('deliveries') / (total('micros') / 1e6)),
    latencyMs: { p50: ms(50), p99: ms(99), p999: ms(99.9) },
    ...(cpu && { cpuMicrosPerDelivery: { main: perDelivery('main'), others: perDelivery('others') } }),
  };
}

/** One stretch of `mode` on `room`, its latencies recorded in `histogram`. */
async function fanoutStretch(room: Room, senders: number, mode: FanoutMode, histogram: hdr.Histogram): Promise<Stretch> {
  const { members, channels } = room;
  const perSender = mode.kind === 'window' ? Math.max(1, Math.ceil(mode.inFlight / senders)) : 0;
  let sent = 0;
  let deliveries = 0;
  let lastDelivery = 0;
  let stopped = false;
  // Members that have received each message, by sequence number.
  let reached = new Uint32Array(1 << 16);

  const say = (index: number) => {
    if (sent === reached.length) {
      const grown = new Uint32Array(reached.length * 2);
      grown.set(reached);
      reached = grown;
    }
    members[index].send(`SAY ${channels[index]} ${index}.${sent++}.${micros()}\n`);
  };

  const onStamp: StampHandler = (sender, sequence, saidAt, now) => {
    histogram.recordValue(Math.max(1, now - saidAt));
    deliveries++;
    lastDelivery = now;
    if (++reached[sequence] === members.length && perSender > 0 && !stopped) say(sender);
  };
  for (const member of members) member.onStamp = onStamp;

  const cpuBefore = room.processIds && processesCpu(room.processIds);
  const started = micros();
  let pacer: NodeJS.Timeout | undefined;
  if (mode.kind === 'window') {
    for (let index = 0; index < senders; index++) for (let k = 0; k < perSender; k++) say(index);
  } else {
    let next = 0;
    pacer = setInterval(() => {
      const due = Math.floor(((micros() - started) / 1e6) * mode.perSecond) - sent;
      for (let k = 0; k < due; k++) say(next++ % senders);
    }, 5);
  }
  await new Promise((resolve) => setTimeout(resolve, mode.seconds * 1000));
  stopped = true;
  clearInterval(pacer);

  // Wait until every RECV is in, or until nothing has arrived for a while (the rest is lost).
  const expected = () => sent * members.length;
  let seen = deliveries;
  let quietSince = Date.now();
  while (deliveries < expected() && Date.now() - quietSince < DRAIN_QUIET_MS) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (deliveries !== seen) {
      seen = deliveries;
      quietSince = Date.now();
    }
  }
  for (const member of members) member.onStamp = undefined;
  const cpuMs = room.processIds && cpuBetween(cpuBefore, processesCpu(room.processIds));
  return { messages: sent, deliveries, lost: expected() - deliveries, micros: lastDelivery - started, cpuMs };
}
