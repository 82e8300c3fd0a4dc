import { connect, Socket } from 'node:net';
import { started, stopped } from './running';

const DEFAULT_WAIT_MS = 3000;

/** A test client speaking the line protocol over a real socket, with waits that time out and say why. */
export class LineClient {
  private readonly lines: string[] = [];
  private partial = Buffer.alloc(0);
  private waiter?: () => void;
  private ended = false;

  private constructor(
    readonly name: string,
    private readonly socket: Socket,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.ended = true;
      stopped(this);
      this.waiter?.();
    });
    socket.on('error', () => undefined);
    if (!socket.destroyed) {
      started(
        this,
        () => `line client ${name}`,
        () => socket.destroy(),
      );
    }
  }

  /** Wraps a socket the test already has (for a fake peer server's accepted connection). */
  static fromSocket(socket: Socket, name: string): LineClient {
    return new LineClient(name, socket);
  }

  static connect(port: number, name = 'client', host = '127.0.0.1', localAddress?: string): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, localAddress }, () => {
        socket.off('error', reject);
        resolve(new LineClient(name, socket));
      });
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Sends one command line, LF-terminated. */
  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  /** REGISTER and LOGIN `user`, expecting both to succeed. */
  async registerAndLogin(user: string, password = 'pw'): Promise<void> {
    this.send(`REGISTER ${user} ${password}`);
    this.send(`LOGIN ${user} ${password}`);
    await this.expectLine('RESULT REGISTER 1', 10000);
    await this.expectLine('RESULT LOGIN 1', 10000);
  }

  /** Sends bytes exactly as given. */
  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends bytes one write at a time, letting each reach the server on its own. */
  async writeBytewise(bytes: Buffer, gapMs = 2): Promise<void> {
    for (const byte of bytes) {
      this.socket.write(Buffer.from([byte]));
      await delay(gapMs);
    }
  }

  /** The next line from the server, exactly, within `timeoutMs`. */
  async expectLine(expected: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    const line = await this.nextLine(timeoutMs, `expected ${JSON.stringify(expected)}`);
    if (line !== expected) {
      throw new Error(`${this.name}: expected ${JSON.stringify(expected)} but got ${JSON.stringify(line)}`);
    }
  }

  /** The next line from the server, whatever it is. */
  async readLine(timeoutMs = DEFAULT_WAIT_MS): Promise<string> {
    return this.nextLine(timeoutMs, 'expected a line');
  }

  /** Nothing arrives for `ms` milliseconds. */
  async expectSilence(ms = 150): Promise<void> {
    await delay(ms);
    if (this.lines.length > 0) {
      throw new Error(`${this.name}: expected silence but got ${JSON.stringify(this.lines[0])}`);
    }
  }

  /** The server closes this connection within `timeoutMs`. */
  async expectClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error(`${this.name}: expected the server to close the connection`);
      await this.waitForActivity(deadline - Date.now());
    }
  }

  /** Lines received but not yet consumed by an expectation. */
  unread(): readonly string[] {
    return this.lines;
  }

  /** Half-closes (sends FIN) and lets the server finish. */
  end(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    let lf = data.indexOf(0x0a);
    while (lf !== -1) {
      this.lines.push(data.toString('utf8', 0, lf));
      data = data.subarray(lf + 1);
      lf = data.indexOf(0x0a);
    }
    this.partial = Buffer.from(data);
    this.waiter?.();
  }

  private async nextLine(timeoutMs: number, what: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.ended) throw new Error(`${this.name}: ${what}, but the server closed the connection`);
      if (Date.now() >= deadline) {
        throw new Error(
          `${this.name}: ${what}, but nothing came within ${timeoutMs} ms (server stalled, or the reply was never sent)`,
        );
      }
      await this.waitForActivity(deadline - Date.now());
    }
    return this.lines.shift() as string;
  }

  private waitForActivity(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.waiter === done) this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.waiter = done;
    });
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
