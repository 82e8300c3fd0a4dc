import { Logger } from '@nestjs/common';
import { PeerSettings } from '../../config/settings';
import { Reply } from '../../transport/replies';
import { Session } from '../../transport/session';
import { addressOf, ConfiguredPeers, plainAddress } from './configured-peers';
import { agreedCaps, CAPABILITIES, HandshakeWords, parseHandshakeWords } from './handshake-words';
import { HandshakeTranscript, NONCE, newNonce, proofOf, proves } from './link-proof';
import { Refusals } from './refusals';

/** How long a dialled peer has to confirm, and an accepted one to send FEDAUTH. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** A handshake that completed: the configured peer, the name it holds, how it proved itself. */
export interface Completed {
  readonly peer: PeerSettings;
  readonly name: string;
  /** The shared secret's proof, or the peer's pinned TLS certificate. */
  readonly proven: boolean;
  /** The capabilities both sides agreed, as written (`cast`, or empty). */
  readonly caps: string;
}

/** What this server offered in its FEDERATE-OUT, when it offered the extension. */
export interface Offer {
  readonly caps: string;
  /** Only when the peer is configured with a secret. */
  readonly nonce?: string;
}

/** A connection that asked to become a link and still owes FEDAUTH. */
interface Accepting {
  readonly peer: PeerSettings;
  readonly name: string;
  readonly transcript: HandshakeTranscript;
}

type Words = ReadonlyArray<readonly [string, string]>;

/**
 * Both sides of the handshake (docs/PROTOCOL.md §6.1–6.3): who the other side is by this server's
 * configuration, and the proof the configuration asks of it. Each method either completes the
 * handshake, or refuses it (a warning naming the reason, the connection closed), or leaves it
 * waiting for its next line.
 */
export class LinkHandshake {
  private readonly accepting = new Map<Session, Accepting>();
  /** A client that keeps sending FEDERATE-OUT from an address no peer may use is logged in summary. */
  private readonly refusals: Refusals;

  constructor(
    private peers: ConfiguredPeers,
    private readonly hostname: string,
    private readonly log: Logger,
    private readonly later: (ms: number, action: () => void) => void,
  ) {
    this.refusals = new Refusals(log);
  }

  /** The peers list was reloaded: handshakes from now on are checked against `peers`. */
  usePeers(peers: ConfiguredPeers): void {
    this.peers = peers;
  }

  /** The FEDERATE-OUT to send a dialled peer, and what it offered. */
  open(peer: PeerSettings): { reply: Reply; offer?: Offer } {
    const extended = peer.secret !== undefined || (peer.extensions ?? peer.tls !== undefined);
    if (!extended) return { reply: Reply.federateOut(this.hostname) };
    const offer: Offer = { caps: CAPABILITIES.join(','), ...(peer.secret === undefined ? {} : { nonce: newNonce() }) };
    const words: Words = [
      ['ext', '1'],
      ...capsWord(offer.caps),
      ...(offer.nonce === undefined ? [] : [['nonce', offer.nonce] as const]),
    ];
    return { reply: Reply.federateOut(this.hostname, words), offer };
  }

  /**
   * `FEDERATE-OUT [<hostname> [key=value…]]` on a client connection. Undefined when refused, or
   * when the peer still owes FEDAUTH. A connection from an address no peer may use stays a client.
   */
  accept(session: Session, text: string): Completed | undefined {
    const address = plainAddress(session.remoteAddress);
    if (session.user !== undefined || !this.peers.mayConnect(address)) {
      const why = session.user === undefined ? 'not an allowed peer' : 'a logged-in client connection';
      this.refusals.refuse({ id: session.id, peer: address }, 'FEDERATE-OUT', 'a federation handshake', why);
      return undefined;
    }
    const words = parseHandshakeWords(text);
    if (!words) return this.refuseInbound(session, 'an invalid hostname or a repeated key in FEDERATE-OUT');
    const identified = this.identify(words.hostname, address);
    if (typeof identified === 'string') return this.refuseInbound(session, identified);
    const { peer, name } = identified;
    const pinned = peer.tls?.fingerprint;
    if (pinned && session.tlsFingerprint !== pinned) {
      const presented = session.secure ? (session.tlsFingerprint ?? 'no certificate') : 'plain TCP';
      return this.refuseInbound(session, `${name} must link over TLS with certificate ${pinned}; got ${presented}`);
    }
    const caps = words.extended ? agreedCaps(words.caps) : '';
    if (peer.secret === undefined) {
      session.send(Reply.federateConfirm(this.hostname, words.extended ? [['ext', '1'], ...capsWord(caps)] : undefined));
      return { peer, name, proven: pinned !== undefined, caps };
    }
    if (!words.extended || words.nonce === undefined || !NONCE.test(words.nonce)) {
      return this.refuseInbound(session, `${name} is configured with a shared secret and its FEDERATE-OUT offered no proof`);
    }
    const transcript: HandshakeTranscript = {
      dialer: words.hostname,
      acceptor: this.hostname,
      dialerNonce: words.nonce,
      acceptorNonce: newNonce(),
      offered: words.capsText,
      agreed: caps,
    };
    session.role = 'accepting';
    this.accepting.set(session, { peer, name, transcript });
    const proof = proofOf(peer.secret, 'confirm', transcript);
    session.send(
      Reply.federateConfirm(this.hostname, [
        ['ext', '1'],
        ...capsWord(caps),
        ['nonce', transcript.acceptorNonce],
        ['proof', proof],
      ]),
    );
    this.later(HANDSHAKE_TIMEOUT_MS, () => {
      if (!this.accepting.delete(session)) return;
      this.log.warn(`${session.id} ${name} did not send FEDAUTH within ${HANDSHAKE_TIMEOUT_MS} ms`);
      session.close();
    });
    return undefined;
  }

  /** `FEDAUTH <proof>`: the dialling server proves the shared secret. */
  authenticated(session: Session, proof: string): Completed | undefined {
    const accepting = this.accepting.get(session);
    if (!accepting) return undefined;
    this.accepting.delete(session);
    const { peer, name, transcript } = accepting;
    if (!proves(peer.secret as string, 'auth', transcript, proof)) {
      return this.refuseInbound(session, `${name} did not prove the shared secret`);
    }
    return { peer, name, proven: true, caps: transcript.agreed };
  }

  /** `FEDERATE-CONFIRM [<hostname> [key=value…]]` from `peer`, which this server dialled with `offer`. */
  confirmed(session: Session, peer: PeerSettings, offer: Offer | undefined, text: string): Completed | undefined {
    const words = parseHandshakeWords(text);
    const name = words?.hostname === '' ? this.peers.defaultName(peer) : words?.hostname;
    if (!words || name === undefined || this.peers.named(name) !== peer) {
      const expected = this.peers.namesOf(peer).join(' or ');
      const announced = words ? JSON.stringify(words.hostname) : 'an invalid hostname';
      return this.refuseDialed(session, peer, `it announced ${announced}, but the configuration names it ${expected}`);
    }
    const caps = offer && words.extended ? agreedCaps(words.caps.filter((cap) => offer.caps.split(',').includes(cap))) : '';
    if (peer.secret !== undefined) {
      const transcript = offer?.nonce === undefined ? undefined : this.dialerTranscript(offer, words, name);
      const proof = words.extended && words.nonce !== undefined && NONCE.test(words.nonce) ? words.proof : undefined;
      if (!transcript || proof === undefined || !proves(peer.secret, 'confirm', transcript, proof)) {
        return this.refuseDialed(session, peer, `${name} did not prove the shared secret`);
      }
      session.send(Reply.fedAuth(proofOf(peer.secret, 'auth', transcript)));
    }
    return { peer, name, proven: peer.secret !== undefined || peer.tls !== undefined, caps };
  }

  /** A connection ended before its handshake did. */
  forget(session: Session): void {
    this.accepting.delete(session);
    this.refusals.linkClosed(session);
  }

  /** The configured peer a FEDERATE-OUT names, or why it is refused. */
  private identify(hostname: string, address: string): { peer: PeerSettings; name: string } | string {
    if (hostname === '') {
      const owners = this.peers.ownersOf(address);
      if (owners.length === 1) return { peer: owners[0], name: this.peers.defaultName(owners[0]) };
      return 'FEDERATE-OUT named no hostname, and the address is not that of exactly one configured peer';
    }
    if (hostname === this.hostname) return `it claimed this server's own name ${hostname}`;
    const peer = this.peers.named(hostname);
    if (!peer) return `${JSON.stringify(hostname)} is not the name of a configured peer`;
    if (!this.peers.mayConnectAs(peer, address)) return `${hostname} is configured at another address (${addressOf(peer)})`;
    return { peer, name: hostname };
  }

  private dialerTranscript(offer: Offer, words: HandshakeWords, name: string): HandshakeTranscript {
    return {
      dialer: this.hostname,
      acceptor: name,
      dialerNonce: offer.nonce ?? '',
      acceptorNonce: words.nonce ?? '',
      offered: offer.caps,
      agreed: words.capsText,
    };
  }

  private refuseInbound(session: Session, reason: string): undefined {
    this.log.warn(`${session.id} refused a link from ${plainAddress(session.remoteAddress)}: ${reason}`);
    session.close();
    return undefined;
  }

  private refuseDialed(session: Session, peer: PeerSettings, reason: string): undefined {
    this.log.warn(`${session.id} refused the link to ${addressOf(peer)}: ${reason}`);
    session.close();
    return undefined;
  }
}

function capsWord(caps: string): Words {
  return caps === '' ? [] : [['caps', caps]];
}
