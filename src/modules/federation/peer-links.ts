import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { isIP } from 'node:net';
import { PeerSettings, SETTINGS, Settings } from '../../config/settings';
import { SETTINGS_RELOAD, SettingsReload } from '../../config/settings-reload';
import { compareCodePoints } from '../../domain/code-point-order';
import { LINK_DIALER, LinkDialer } from '../../transport/link-dialer';
import { Session } from '../../transport/session';
import { addressOf, ConfiguredPeers } from './configured-peers';
import { SHARED_LINKS } from './federation-tokens';
import { CAPABILITIES } from './handshake-words';
import { Completed, HANDSHAKE_TIMEOUT_MS, LinkHandshake, Offer } from './link-handshake';
import { SharedLinks } from './shared-links';

const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 60_000;

/** What the federation service hears from the links. */
export interface LinkEvents {
  linkUp(link: Session): void;
  linkDown(peer: string): void;
}

/** The one live link of a configured peer. */
interface Link {
  readonly session: Session;
  /** The peer proved itself: the shared secret's handshake, or its pinned TLS certificate. */
  readonly proven: boolean;
  readonly dialedByUs: boolean;
}

/** A link this server dialed, waiting for FEDERATE-CONFIRM. */
interface Dialed {
  readonly peer: PeerSettings;
  /** Set when this server offered the handshake's extension. */
  readonly offer?: Offer;
}

/**
 * The links to peer servers: dialing each configured peer and keeping one link up (backoff from
 * 1 s doubling to 60 s), accepting inbound links, and the handshake (docs/PROTOCOL.md §6.1–6.3).
 * The configuration decides who a peer is: a link is accepted only under a name configured for
 * that peer, from an address allowed for it, with the proof its configuration asks for (the
 * shared secret's HMAC challenge–response, its pinned TLS certificate). Each peer has at most one
 * live link; a proven link replaces an unproven one, never the reverse.
 *
 * On an instance of a cluster (`SharedLinks`), a configured peer is dialed only while this
 * instance holds its dial claim, and lines for the cluster go to a peer only over the link of the
 * instance holding that peer's relay claim (`relayLinkTo`). Claims not held are asked for again
 * every `claimRetryMs`, so they move within the lease when their holder dies.
 */
@Injectable()
export class PeerLinks implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Federation');
  private peers: ConfiguredPeers;
  /** The peers as configured when they were last read: a reload compares the new list with it. */
  private configured: readonly PeerSettings[];
  private readonly links = new Map<PeerSettings, Link>();
  private readonly dialed = new Map<Session, Dialed>();
  private readonly handshake: LinkHandshake;
  private readonly retryDelay = new Map<PeerSettings, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private events?: LinkEvents;
  /** Peers this instance relays to (on an instance of a cluster). */
  private readonly relaying = new Set<string>();
  private claimTimer?: NodeJS.Timeout;

  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(SHARED_LINKS) private readonly shared: SharedLinks | null,
    @Optional() @Inject(LINK_DIALER) private readonly dialer?: LinkDialer,
    @Optional() @Inject(SETTINGS_RELOAD) reload?: SettingsReload,
  ) {
    this.peers = new ConfiguredPeers(settings, (message) => this.log.warn(message));
    this.configured = settings.federation.peers;
    this.handshake = new LinkHandshake(this.peers, settings.hostname, this.log, (ms, action) => this.later(ms, action));
    reload?.onReload((_settings, changed) =>
      changed.includes('federation.peers') || changed.includes('federation.acceptFrom') ? this.peersReloaded() : undefined,
    );
  }

  /**
   * The peers list was reloaded. A peer configured exactly as before keeps its link; the link of a
   * peer no longer configured, or configured otherwise (address, name, secret, TLS), is closed;
   * new peers are dialled. Names are resolved before anything changes.
   */
  private async peersReloaded(): Promise<void> {
    const peers = new ConfiguredPeers(this.settings, (message) => this.log.warn(message));
    await peers.resolve();
    const next = this.settings.federation.peers;
    const gone = this.configured.filter((peer) => !next.includes(peer));
    const added = next.filter((peer) => !this.configured.includes(peer));
    this.peers = peers;
    this.configured = next;
    this.handshake.usePeers(peers);
    for (const peer of gone) {
      this.retryDelay.delete(peer);
      const link = this.links.get(peer);
      if (link) {
        const name = link.session.peer as string;
        this.links.delete(peer);
        this.stopRelaying(name);
        this.events?.linkDown(name);
        link.session.peer = undefined;
        link.session.close();
      }
      for (const [session, dialed] of [...this.dialed]) {
        if (dialed.peer !== peer) continue;
        this.dialed.delete(session);
        session.close();
      }
    }
    const names = (list: readonly PeerSettings[]) => list.map((peer) => addressOf(peer)).join(', ') || 'none';
    this.log.log(`peers reloaded: ${added.length} added (${names(added)}), ${gone.length} removed (${names(gone)})`);
    if (this.dialer) for (const peer of added) void this.dial(peer);
  }

  /** How often claims not held are asked for: a third of the lease, at most every 2 s. */
  private get claimRetryMs(): number {
    return Math.min(2000, Math.floor((this.settings.cluster?.leaseMs ?? 6000) / 3));
  }

  get hostname(): string {
    return this.settings.hostname;
  }

  listen(events: LinkEvents): void {
    this.events = events;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.peers.resolve();
    if (this.shared) {
      this.shared.onLeaseLost(() => this.closeAll());
      this.claimTimer = setInterval(() => void this.claimRelays(), this.claimRetryMs);
      this.claimTimer.unref();
    }
    this.dialer?.acceptLinksFrom?.((address) => this.peers.mayConnect(address));
    if (!this.dialer) return;
    for (const peer of this.peers.all) void this.dial(peer);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearInterval(this.claimTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Whether `name` is one a configured peer may hold: only those can be a link's name or hold channels. */
  isPeerName(name: string): boolean {
    return this.peers.isPeerName(name);
  }

  /**
   * The link over which lines for the cluster go to `host`: the live link for a server alone; on
   * an instance of a cluster, this instance's link only while it holds the relay claim for `host`.
   */
  relayLinkTo(host: string): Session | undefined {
    if (this.shared && !this.relaying.has(host)) return undefined;
    return this.linkTo(host);
  }

  /** One link per peer this instance relays to (every live peer for a server alone). */
  relayLinks(): Session[] {
    return this.shared ? [...this.relaying].flatMap((peer) => this.linkTo(peer) ?? []) : this.liveLinks();
  }

  /** The live link to the server `host`, if there is one. */
  linkTo(host: string): Session | undefined {
    const peer = this.peers.named(host);
    const link = peer && this.links.get(peer);
    return link?.session.peer === host ? link.session : undefined;
  }

  /** How many peers this server has a live link to. */
  get linksUp(): number {
    return this.links.size;
  }

  /** Every live link, one per peer. */
  liveLinks(): Session[] {
    return [...this.links.values()].map((link) => link.session);
  }

  /** `FEDERATE-OUT [<hostname> [key=value…]]` on a client connection. */
  accept(session: Session, text: string): void {
    const completed = this.handshake.accept(session, text);
    if (completed) this.register(session, completed, false);
  }

  /** `FEDAUTH <proof>` on a connection whose FEDERATE-OUT was answered with a challenge. */
  authenticated(session: Session, proof: string): void {
    const completed = this.handshake.authenticated(session, proof);
    if (completed) this.register(session, completed, false);
  }

  /** `FEDERATE-CONFIRM [<hostname> [key=value…]]` on a link this server dialed. */
  confirmed(session: Session, text: string): void {
    const dialed = this.dialed.get(session);
    if (!dialed) return;
    const completed = this.handshake.confirmed(session, dialed.peer, dialed.offer, text);
    if (!completed) return;
    this.retryDelay.delete(dialed.peer);
    this.register(session, completed, true);
  }

  /** A connection ended: forget its link, and dial again if the peer has none left. */
  closed(session: Session): void {
    this.handshake.forget(session);
    const dialed = this.dialed.get(session);
    this.dialed.delete(session);
    const peer = dialed?.peer ?? (session.peer === undefined ? undefined : this.peers.named(session.peer));
    const link = peer && this.links.get(peer);
    if (peer && link?.session === session) {
      this.links.delete(peer);
      this.log.log(`link to ${session.peer} is down`);
      this.stopRelaying(session.peer as string);
      this.events?.linkDown(session.peer as string);
      this.retryLater(peer);
    } else if (dialed) {
      this.retryLater(dialed.peer);
    }
  }

  /**
   * A peer's link: the first one; or one that replaces it, when proven where the other is not.
   * Two links of equal standing (both servers dialed at once) keep the one dialed by the server
   * whose hostname comes first, so both ends keep the same connection; a peer that dials again
   * while its old link lingers replaces it.
   */
  private register(session: Session, { peer, name, proven, caps }: Completed, dialedByUs: boolean): void {
    const existing = this.links.get(peer);
    if (existing && !this.replaces({ session, proven, dialedByUs }, existing)) {
      this.log.log(`${session.id} closing a second link to ${name}: ${existing.session.id} is kept`);
      session.close();
      return;
    }
    session.role = 'link';
    session.peer = name;
    session.features = new Set(caps.split(',').filter((cap) => CAPABILITIES.includes(cap)));
    this.links.set(peer, { session, proven, dialedByUs });
    if (existing) {
      this.log.warn(
        `${session.id} replaces ${existing.session.id} as the link to ${name}${proven && !existing.proven ? ', proven' : ''}`,
      );
      // Its close must not count as the peer going down, nor as a reason to dial.
      this.dialed.delete(existing.session);
      existing.session.peer = undefined;
      existing.session.close();
      // What was asked over the old link is answered over it or not at all.
      this.events?.linkDown(name);
    }
    const how = [proven ? 'proven' : 'unproven', session.secure ? 'TLS' : 'plain TCP', ...(caps ? [`caps ${caps}`] : [])];
    this.log.log(`link to ${name} is up (${session.id}, ${how.join(', ')})`);
    this.events?.linkUp(session);
    if (this.shared && !this.relaying.has(name)) void this.claimRelay(name);
  }

  private replaces(newcomer: Link, existing: Link): boolean {
    if (newcomer.proven !== existing.proven) return newcomer.proven;
    if (newcomer.dialedByUs === existing.dialedByUs) return true;
    const peerName = existing.session.peer as string;
    const weComeFirst = compareCodePoints(this.hostname, peerName) < 0;
    return newcomer.dialedByUs === weComeFirst;
  }

  private async dial(peer: PeerSettings): Promise<void> {
    if (this.stopped || !this.dialer || this.links.has(peer) || !this.configured.includes(peer)) return;
    if (this.shared && !(await this.holdsDial(peer))) {
      this.later(this.claimRetryMs, () => void this.dial(peer));
      return;
    }
    const bind = this.settings.host;
    const localAddress = bind !== '0.0.0.0' && bind !== '::' && isIP(bind) ? bind : undefined;
    try {
      const session = await this.dialer.dial({
        host: peer.host,
        port: peer.port,
        localAddress,
        ...(peer.tls ? { tls: peer.tls } : {}),
      });
      const { reply, offer } = this.handshake.open(peer);
      this.dialed.set(session, { peer, offer });
      session.send(reply);
      this.later(HANDSHAKE_TIMEOUT_MS, () => {
        // Still waiting: not confirmed, and not refused or closed meanwhile.
        if (session.role === 'dialing' && this.dialed.has(session)) {
          this.log.warn(`${addressOf(peer)} did not confirm the federation handshake`);
          session.close();
        }
      });
    } catch (error) {
      const message = (error as Error).message;
      // A pinned certificate that does not match is worth a warning; an unreachable peer is routine.
      if (/fingerprint|certificate/i.test(message)) this.log.warn(`cannot link to ${addressOf(peer)}: ${message}`);
      else this.log.debug(`cannot reach peer ${addressOf(peer)}: ${message}`);
      this.retryLater(peer);
    }
  }

  /** Whether this instance may dial `peer` (it holds, or just took, its dial claim). */
  private async holdsDial(peer: PeerSettings): Promise<boolean> {
    try {
      return await (this.shared as SharedLinks).claimDial(addressOf(peer));
    } catch {
      return false;
    }
  }

  private async claimRelay(peer: string): Promise<void> {
    try {
      if (!(await (this.shared as SharedLinks).claimRelay(peer))) return;
    } catch {
      return;
    }
    if (!this.linkTo(peer) || this.relaying.has(peer)) return;
    this.relaying.add(peer);
    this.log.log(`relaying the cluster's lines to ${peer}`);
  }

  /**
   * Every tick: relaying is taken over for a live peer whose holder is gone, and this instance's
   * claims are checked (a Redis that restarted empty lets another instance take them): a relay or
   * a dialed link whose claim another instance now holds is given up.
   */
  private async claimRelays(): Promise<void> {
    const shared = this.shared as SharedLinks;
    try {
      for (const { session } of [...this.links.values()]) {
        const peer = session.peer as string;
        if (!this.relaying.has(peer)) await this.claimRelay(peer);
        else if (!(await shared.claimRelay(peer))) {
          this.relaying.delete(peer);
          this.log.warn(`another instance relays to ${peer} now`);
        }
      }
      for (const [session, { peer }] of [...this.dialed]) {
        if (!(await shared.claimDial(addressOf(peer)))) {
          this.log.warn(`another instance dials ${addressOf(peer)} now; closing this instance's link`);
          session.close();
        }
      }
    } catch {
      // Redis cannot be asked: the claims stand until the lease says otherwise.
    }
  }

  private stopRelaying(peer: string): void {
    if (!this.relaying.delete(peer)) return;
    void (this.shared as SharedLinks).releaseRelay(peer).catch(() => undefined);
  }

  /** The lease is lost: every claim is void, so every link goes (dialing resumes under new claims). */
  private closeAll(): void {
    if (this.links.size > 0 || this.dialed.size > 0) this.log.warn('lease lost: closing every peer link of this instance');
    this.relaying.clear();
    for (const { session } of this.links.values()) session.close();
    for (const session of this.dialed.keys()) session.close();
  }

  private retryLater(peer: PeerSettings): void {
    if (this.stopped) return;
    const delay = this.retryDelay.get(peer) ?? FIRST_RETRY_MS;
    this.retryDelay.set(peer, Math.min(delay * 2, LAST_RETRY_MS));
    this.later(delay, () => void this.dial(peer));
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    // Pending retries never keep a stopping process alive.
    timer.unref();
    this.timers.add(timer);
  }
}
