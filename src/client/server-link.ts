import { EventEmitter } from 'node:events';
import { connect, isIP, Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { LineFramer } from '../transport/line-framer';

/** Long CHANNELS lists are the longest lines a server sends; anything past this is cut. */
const MAX_SERVER_LINE_BYTES = 16 * 1024 * 1024;

/** How the server's certificate is trusted, over TLS. With neither, the system's CAs and the host name decide. */
export interface TlsTrust {
  /** Only a certificate with this SHA-256 fingerprint (`AB:CD:…`), whoever signed it. */
  readonly fingerprint?: string;
  /** Certificates signed by these PEM certificates (or being one of them), instead of the system's CAs. */
  readonly ca?: Buffer;
}

/** A server that takes TCP but never answers a TLS hello (a plain port) is given up on after this. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

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

  /** Connects, over TLS when `tls` is given, or rejects with the reason (ECONNREFUSED, ENOTFOUND, a certificate not trusted, …). */
  static connect(host: string, port: number, tls?: TlsTrust): Promise<ServerLink> {
    const connecting = tls ? connectSecurely(host, port, tls) : connectPlainly(host, port);
    return connecting.then((socket) => new ServerLink(socket));
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

function connectPlainly(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/**
 * A pinned fingerprint replaces the CA check (a self-signed certificate is the usual case);
 * otherwise Node verifies the chain and the host name, against `ca` or the system's CAs.
 */
function connectSecurely(host: string, port: number, trust: TlsTrust): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({
      host,
      port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(trust.ca ? { ca: trust.ca } : {}),
      rejectUnauthorized: trust.fingerprint === undefined,
    });
    let connected = false;
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onError = (error: NodeJS.ErrnoException): void => fail(connected ? handshakeFailure(error) : error);
    const timer = setTimeout(
      () => fail(new Error(`no TLS handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s (is ${port} the server's TLS port?)`)),
      HANDSHAKE_TIMEOUT_MS,
    );
    socket.once('connect', () => (connected = true));
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      const presented = (socket.getPeerCertificate() as { fingerprint256?: string } | null)?.fingerprint256 || undefined;
      if (trust.fingerprint !== undefined && presented !== trust.fingerprint) {
        const got = presented === undefined ? 'the server presented no certificate' : `got ${presented}`;
        fail(new Error(`certificate fingerprint mismatch: expected ${trust.fingerprint}, ${got}`));
        return;
      }
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** Verification failures name the certificate; anything else is the handshake's. */
function handshakeFailure(error: NodeJS.ErrnoException): Error {
  const code = error.code ? ` (${error.code})` : '';
  const untrusted = error.code !== undefined && /CERT|SIGNATURE|ISSUER|ALTNAME/.test(error.code);
  return new Error(`${untrusted ? "the server's certificate is not trusted" : 'TLS handshake failed'}: ${error.message}${code}`);
}

/** A connection error as a short reason: the system code when there is one. */
export function reasonOf(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ?? message ?? String(error);
}
