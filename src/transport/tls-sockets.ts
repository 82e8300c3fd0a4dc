import { connect, isIP, Socket, TcpSocketConnectOpts } from 'node:net';
import { connect as connectTls, ConnectionOptions, createServer, Server, TLSSocket } from 'node:tls';
import { normalizeFingerprint } from '../config/settings';
import { Logger } from '../logging/logger';
import { DialTarget } from './link-dialer';
import { ServerCertificate } from './tls-certificate';

/**
 * How long a connection to the TLS port has to finish its handshake. With `allowHalfOpen`, one
 * whose other side closed mid-handshake would otherwise wait for Node's default of two minutes.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** A TCP connection to `target`. */
export function connectPlain(target: DialTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, localAddress: target.localAddress });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/**
 * A TLS connection to `target` presenting this server's certificate, so the peer can pin it. The
 * peer's certificate is checked against the pinned fingerprint alone: no CA vouches for it.
 */
export function connectPinned(target: DialTarget, fingerprint: string, certificate?: ServerCertificate): Promise<TLSSocket> {
  if (!certificate) {
    return Promise.reject(
      new Error(`cannot dial ${target.host}:${target.port} over TLS: this server has no certificate (tls.certFile, tls.keyFile)`),
    );
  }
  const expected = normalizeFingerprint(fingerprint) ?? fingerprint;
  // tls.connect hands the socket options (localAddress among them) to net; its types leave them out.
  const options: ConnectionOptions & TcpSocketConnectOpts = {
    host: target.host,
    port: target.port,
    localAddress: target.localAddress,
    secureContext: certificate.current.context,
    rejectUnauthorized: false,
    ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
  };
  return new Promise((resolve, reject) => {
    const socket = connectTls(options);
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      const presented = (socket.getPeerCertificate() as { fingerprint256?: string } | null)?.fingerprint256 || undefined;
      if (presented === expected) {
        resolve(socket);
        return;
      }
      // Ended rather than destroyed, so the peer's side of the handshake completes and it sees a close, not a stall.
      socket.once('error', () => undefined);
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
      const got = presented === undefined ? 'the peer presented no certificate' : `got ${presented}`;
      reject(new Error(`certificate fingerprint mismatch: expected ${expected}, ${got}`));
    });
  });
}

/**
 * The TLS port. Clients need not present a certificate; peers do, so that their links can be
 * pinned by fingerprint. `accept` gets each connection once its handshake is done; a new
 * certificate pair serves the handshakes that follow it.
 */
export function createTlsListener(certificate: ServerCertificate, log: Logger, accept: (socket: TLSSocket) => void): Server {
  const { cert, key } = certificate.current;
  const server = createServer(
    {
      cert,
      key,
      requestCert: true,
      rejectUnauthorized: false,
      allowHalfOpen: true,
      noDelay: true,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    },
    accept,
  );
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    // A port scan or a health check that only opens the port is routine; a failed handshake is not.
    const routine = error.code === 'ECONNRESET' || error.message === 'socket hang up';
    log[routine ? 'debug' : 'warn']({ remote, code: error.code }, `TLS handshake with ${remote} failed: ${error.message}`);
    // Node leaves the socket open after a handshake timeout.
    socket.destroy();
  });
  return server;
}
