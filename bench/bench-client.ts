import { connect, Socket } from 'node:net';

/**
 * One load-generator connection. During set-up, replies are awaited in order (`reply()`); during a
 * measurement every line goes to `onLine`, with no allocation beyond the line itself.
 */
export class BenchClient {
  onLine?: (line: string) => void;
  private pending = '';
  private readonly lines: string[] = [];
  private waiter?: () => void;

  private constructor(
    readonly name: string,
    private readonly socket: Socket,
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined);
  }

  static connect(name: string, port: number, host = '127.0.0.1', localAddress?: string): Promise<BenchClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, localAddress, noDelay: true }, () => {
        socket.off('error', reject);
        resolve(new BenchClient(name, socket));
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
