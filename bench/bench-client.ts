import { connect, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * Every connection's input lands in this one buffer (`onread`): the callback handles it before the
 * next read, so one is enough, and no socket keeps a stream's buffers or decoder.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const LF = 10;
const SPACE = 32;
const DOT = 46;
const ZERO = 48;

/** The time now in µs, on the clock the fan-out stamps its messages with. */
export const micros = (): number => Math.round(performance.now() * 1000);

/**
 * What a fan-out measurement takes from each RECV: the stamp that ends its message,
 * `<sender>.<sequence>.<µs when said>`, and when the read that brought the line returned (`micros`).
 * Lines read together arrived together, so they share that time.
 */
export type StampHandler = (sender: number, sequence: number, saidMicros: number, receivedMicros: number) => void;

/**
 * One load-generator connection. During set-up, replies are awaited in order (`reply()`) or handed
 * to `onLine`. During a fan-out measurement (`onStamp`), RECV stamps are read straight from the
 * bytes, with no string made for them: a fan-out reads a line per member for every message said,
 * and the generator must stay cheaper than the servers it measures, or it measures itself. For the
 * same reason bytes come from the socket into a shared buffer (`onread`), without Node's readable
 * stream, its `data` event and its decoder between.
 */
export class BenchClient {
  onLine?: (line: string) => void;
  onStamp?: StampHandler;
  private pending = '';
  private readonly lines: string[] = [];
  private waiter?: () => void;

  private constructor(
    readonly name: string,
    private readonly socket: Socket,
  ) {
    socket.on('error', () => undefined);
  }

  static connect(name: string, port: number, host = '127.0.0.1', localAddress?: string): Promise<BenchClient> {
    return new Promise((resolve, reject) => {
      let client: BenchClient | undefined;
      const onread = {
        buffer: READ_BUFFER,
        callback: (length: number, buffer: Buffer): boolean => {
          client?.received(buffer, length);
          return true;
        },
      };
      const socket = connect({ port, host, localAddress, noDelay: true, onread }, () => {
        socket.off('error', reject);
        client = new BenchClient(name, socket);
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** The next line received, waiting up to `timeoutMs`. */
  async reply(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.socket.destroyed) throw new Error(`${this.name}: connection closed while waiting for a reply`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.lines.shift() as string;
  }

  /** Sends `lines` at once and checks each reply against the one expected. */
  async exchange(lines: readonly string[], expected: readonly string[]): Promise<void> {
    this.send(lines.map((line) => `${line}\n`).join(''));
    for (const want of expected) {
      const got = await this.reply();
      if (got !== want) throw new Error(`${this.name}: expected "${want}", got "${got}"`);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private received(buffer: Buffer, length: number): void {
    if (!this.onStamp) {
      this.onData(buffer.toString('latin1', 0, length));
    } else if (this.pending === '') {
      this.readStamps(buffer, length, this.onStamp);
    } else {
      // The rare read that finishes a cut line: the two parts joined into one buffer of their own.
      const joined = Buffer.concat([Buffer.from(this.pending, 'latin1'), buffer.subarray(0, length)]);
      this.pending = '';
      this.readStamps(joined, joined.length, this.onStamp);
    }
  }

  /**
   * The stamps of the RECV lines in `buffer`, read from the end of each line back to the last space;
   * other lines, and RECVs whose message is not a stamp, are skipped. A line cut by the end of the
   * read is kept as text and finished by the next read.
   */
  private readStamps(buffer: Buffer, length: number, onStamp: StampHandler): void {
    const now = micros();
    const bytes = buffer.subarray(0, length);
    let start = 0;
    for (let end = bytes.indexOf(LF); end !== -1; end = bytes.indexOf(LF, start)) {
      if (isRecv(bytes, start)) readStamp(bytes, start, end, now, onStamp);
      start = end + 1;
    }
    if (start < length) this.pending = bytes.toString('latin1', start, length);
  }

  private onData(chunk: string): void {
    const text = this.pending + chunk;
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = text.slice(start, end);
      start = end + 1;
      if (this.onLine) this.onLine(line);
      else this.lines.push(line);
    }
    this.pending = text.slice(start);
    if (this.lines.length > 0 && this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter();
    }
  }
}

const RECV = Buffer.from('RECV ', 'latin1');

/** True when the line at `start` begins with `RECV `. */
function isRecv(bytes: Uint8Array, start: number): boolean {
  for (let offset = 0; offset < RECV.length; offset++) if (bytes[start + offset] !== RECV[offset]) return false;
  return true;
}

/** Where the digits read last by `digitsBefore` began. */
let digitsAt = 0;

/** The number written in the decimal digits that end just before `end`, not reaching back past `start`. */
function digitsBefore(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  let scale = 1;
  let at = end - 1;
  for (; at > start && bytes[at] >= ZERO && bytes[at] <= ZERO + 9; at--) {
    value += (bytes[at] - ZERO) * scale;
    scale *= 10;
  }
  digitsAt = at + 1;
  return value;
}

/**
 * Reads `<sender>.<sequence>.<µs>` backwards from `end` (the line's LF) and hands it on. False,
 * and nothing handed on, when the line does not end so.
 */
export function readStamp(bytes: Uint8Array, start: number, end: number, now: number, onStamp: StampHandler): boolean {
  const said = digitsBefore(bytes, start, end);
  if (digitsAt === end || bytes[digitsAt - 1] !== DOT) return false;
  const sequenceEnd = digitsAt - 1;
  const sequence = digitsBefore(bytes, start, sequenceEnd);
  if (digitsAt === sequenceEnd || bytes[digitsAt - 1] !== DOT) return false;
  const senderEnd = digitsAt - 1;
  const sender = digitsBefore(bytes, start, senderEnd);
  if (digitsAt === senderEnd || bytes[digitsAt - 1] !== SPACE) return false;
  onStamp(sender, sequence, said, now);
  return true;
}

/** Opens `count` connections, `batch` at a time, spread over the given source addresses. */
export async function connectMany(
  prefix: string,
  count: number,
  port: number,
  host: string,
  sources: readonly string[] = [],
  batch = 500,
): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  for (let first = 0; first < count; first += batch) {
    const size = Math.min(batch, count - first);
    const opened = await Promise.all(
      Array.from({ length: size }, (_, offset) => {
        const index = first + offset;
        const source = sources.length > 0 ? sources[index % sources.length] : undefined;
        return BenchClient.connect(`${prefix}${index}`, port, host, source);
      }),
    );
    clients.push(...opened);
  }
  return clients;
}
