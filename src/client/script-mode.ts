import { createInterface, Interface } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { OwedReplies } from './expected-replies';
import { reasonOf, ServerLink, TlsTrust } from './server-link';

export interface ScriptOptions {
  readonly host: string;
  readonly port: number;
  /** Set: over TLS, trusting the server's certificate this way. */
  readonly tls?: TlsTrust;
  readonly input: Readable;
  readonly output: Writable;
  readonly errors: Writable;
  /** Once every reply has arrived and the input has ended, exit when no line has arrived for this long. */
  readonly waitMs: number;
  /** After the input ends, give up when no owed reply has arrived for this long. */
  readonly timeoutMs: number;
}

/** The exit codes of the client program. */
export const EXIT = {
  ok: 0,
  /** The connection failed, or was lost before the input ended or while replies were owed. */
  connection: 1,
  /** Bad arguments, or a --script file that cannot be read. */
  arguments: 2,
  /** Replies still missing when --timeout ran out. */
  unanswered: 3,
} as const;

/**
 * Netcat-style with knowledge of the protocol: sends each input line, prints every line received
 * exactly as it came, and once the input has ended waits for the reply owed to each command, then
 * for `waitMs` of quiet. Returns the exit code (EXIT).
 */
export async function runScript(options: ScriptOptions): Promise<number> {
  let link: ServerLink;
  try {
    link = await ServerLink.connect(options.host, options.port, options.tls);
  } catch (error) {
    options.errors.write(`chat-client: cannot connect to ${options.host}:${options.port}: ${reasonOf(error)}\n`);
    return EXIT.connection;
  }
  return new ScriptRun(link, options).run();
}

class ScriptRun {
  private readonly owed = new OwedReplies();
  private reader?: Interface;
  private inputEnded = false;
  private clock?: NodeJS.Timeout;
  private resolve?: (code: number) => void;

  constructor(
    private readonly link: ServerLink,
    private readonly options: ScriptOptions,
  ) {}

  run(): Promise<number> {
    return new Promise<number>((resolve) => {
      this.resolve = resolve;
      this.link.on('line', (line) => this.onServerLine(line));
      this.link.on('closed', () => this.onClosed());
      this.reader = createInterface({ input: this.options.input, crlfDelay: Infinity, terminal: false });
      this.reader.on('line', (line) => this.onInputLine(line));
      this.reader.on('close', () => this.onInputEnd());
    });
  }

  private get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  private onInputLine(line: string): void {
    this.owed.sent(line);
    this.link.send(line);
  }

  private onInputEnd(): void {
    this.inputEnded = true;
    this.restartClock();
  }

  private onServerLine(line: string): void {
    this.options.output.write(`${line}\n`);
    const settled = this.owed.received(line);
    // A line that settles nothing restarts only the quiet period, never the wait for a reply.
    if (this.inputEnded && (settled || this.owed.isEmpty)) this.restartClock();
  }

  private restartClock(): void {
    clearTimeout(this.clock);
    if (this.owed.isEmpty) {
      this.clock = setTimeout(() => this.finish(EXIT.ok), this.options.waitMs);
    } else {
      this.clock = setTimeout(() => this.giveUp(), this.options.timeoutMs);
    }
  }

  private giveUp(): void {
    this.options.errors.write(`chat-client: no reply within ${this.options.timeoutMs} ms to: ${this.owed.describe()}\n`);
    this.finish(EXIT.unanswered);
  }

  private onClosed(): void {
    if (this.inputEnded && this.owed.isEmpty) return this.finish(EXIT.ok);
    const missing = this.owed.isEmpty ? '' : `; no reply to: ${this.owed.describe()}`;
    this.options.errors.write(`chat-client: connection to ${this.address} lost${missing}\n`);
    this.finish(EXIT.connection);
  }

  private finish(code: number): void {
    const resolve = this.resolve;
    if (!resolve) return;
    this.resolve = undefined;
    this.link.removeAllListeners();
    this.link.close();
    // Closing the reader reports the end of the input, which would start the clock again.
    this.reader?.close();
    clearTimeout(this.clock);
    resolve(code);
  }
}
