import { EventEmitter } from 'node:events';
import { connect, Socket } from 'node:net';
import { LineFramer } from '../transport/line-framer';

/** Long CHANNELS lists are the longest lines a server sends; anything past this is cut. */
const MAX_SERVER_LINE_BYTES = 16 * 1024 * 1024;

export interface ServerLinkEvents {
  line: [string];
  closed: [];
}

/** One TCP connection to a chat server, as lines in and lines out. */
export class ServerLink extends EventEmitter<ServerLinkEvents> {
  private readonly framer = new LineFramer(MAX_SERVER_LINE_BYTES);
  private open = true;

  private constructor(private readonly socket: Socket) {
    super();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.framer.push(chunk)) {
        this.emit('line', frame.kind === 'line' ? frame.bytes.toString('utf8') : `${frame.prefix.toString('utf8')}…`);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.open = false;
      this.emit('closed');
    });
  }

  /** Connects, or rejects with the reason (ECONNREFUSED, ENOTFOUND, …). */
  static connect(host: string, port: number): Promise<ServerLink> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new ServerLink(socket));
      });
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(line: string): void {
    if (this.open) this.socket.write(`${line}\n`);
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

/** A connection error as a short reason: the system code when there is one. */
export function reasonOf(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ?? message ?? String(error);
}
