/** The event a connection's end raises, after every command it sent has been handled. */
export const SESSION_CLOSED = 'session.closed';

/**
 * `client`: a user's connection. `dialing`: a link this server opened, until the peer confirms.
 * `accepting`: a connection that asked to become a link and still owes its proof (FEDAUTH).
 * `link`: a server-to-server link after its handshake.
 */
export type SessionRole = 'client' | 'dialing' | 'accepting' | 'link';

import { Reply } from './replies';

/** What modules may know of a connection: who it is, and a way to send it a reply. */
export interface Session {
  /** Connection id used in logs, e.g. `c42`. */
  readonly id: string;
  readonly remoteAddress: string;
  role: SessionRole;
  /** On a link: the peer server's hostname. */
  peer?: string;
  /** On a link: the capabilities both sides agreed in the handshake (e.g. `cast`). */
  features?: ReadonlySet<string>;
  /**
   * Over TLS: the SHA-256 fingerprint (`AB:CD:…`) of the certificate the other side presented,
   * undefined when it presented none or the connection is plain TCP.
   */
  readonly tlsFingerprint?: string;
  /** True for a connection over TLS. */
  readonly secure?: boolean;
  /** The logged-in user, set by presence on LOGIN. */
  user?: string;
  /** Queues one reply for this connection; the transport turns it into bytes, once per reply. */
  send(reply: Reply): void;
  /** Closes the connection (used for links). */
  close(): void;
  /**
   * Marks an answer this session is still owed (the outcome of a remote request, which arrives
   * after its command has been handled): a client that has half-closed, or a shutdown within its
   * grace, keeps the connection open until `settled` settles. The caller bounds it (a timeout).
   */
  awaitSettled(settled: Promise<unknown>): void;
}
