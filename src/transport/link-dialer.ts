import { Session } from './session';

export interface DialTarget {
  readonly host: string;
  readonly port: number;
  /** Source address, so the peer sees this server's own address. */
  readonly localAddress?: string;
  /**
   * Dial over TLS, presenting this server's certificate; the peer's certificate must have this
   * SHA-256 fingerprint (`AB:CD:…`, as `normalizeFingerprint` gives it), or the dial is refused.
   */
  readonly tls?: { readonly fingerprint: string };
}

/** Opens connections to other servers; their lines reach the handlers whose scope is `dialing`, then `link`. */
export interface LinkDialer {
  dial(target: DialTarget): Promise<Session>;
  /** Lets inbound connections from the addresses `test` accepts past the connection cap: peer links keep working at it. */
  acceptLinksFrom?(test: (address: string) => boolean): void;
}

/** Injection token for the transport's `LinkDialer`. */
export const LINK_DIALER = Symbol('LinkDialer');
