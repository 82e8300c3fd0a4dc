import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PeerAddress, SETTINGS, Settings } from '../../config/settings';
import { LINK_DIALER, LinkDialer } from '../../transport/link-dialer';
import { Reply } from '../../transport/replies';
import { Session } from '../../transport/session';
import { SHARED_LINKS } from './federation-tokens';
import { SharedLinks } from './shared-links';

const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 60_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Addresses compare without the IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1`). */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function label(peer: PeerAddress): string {
  return `${peer.host}:${peer.port}`;
}

/** What the federation service hears from the links. */
export interface LinkEvents {
  linkUp(link: Session): void;
  linkDown(peer: string): void;
}

/**
 * The links to peer servers: dialing each configured peer and keeping that link up (backoff from
 * 1 s doubling to 60 s), accepting inbound links from allowed addresses, and the handshake.
 * A peer is known by its hostname; a link is usable once its handshake is complete.
 *
 * On an instance of a cluster (`SharedLinks`), a configured peer is dialed only while this
 * instance holds its dial claim, and lines for the cluster go to a peer only over the link of the
 * instance holding that peer's relay claim (`relayLinkTo`). Claims not held are asked for again
 * every `claimRetryMs`, so they move within the lease when their holder dies.
 */
@Injectable()
export class PeerLinks implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Federation');
  private readonly links = new Map<string, Set<Session>>();
  private readonly dialed = new Map<Session, PeerAddress>();
  private readonly retryDelay = new Map<PeerAddress, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private allowedAddresses = new Set<string>();
  private addressOwners = new Map<string, PeerAddress[]>();
  private stopped = false;
  private events?: LinkEvents;
  /** Peers this instance relays to (on an instance of a cluster). */
  private readonly relaying = new Set<string>();
  private claimTimer?: NodeJS.Timeout;

  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(SHARED_LINKS) private readonly shared: SharedLinks | null,
    @Optional() @Inject(LINK_DIALER) private readonly dialer?: LinkDialer,
  ) {}

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
    await this.resolveAllowedAddresses();
    if (this.shared) {
      this.shared.onLeaseLost(() => this.closeAll());
      this.claimTimer = setInterval(() => void this.claimRelays(), this.claimRetryMs);
      this.claimTimer.unref();
    }
    if (!this.dialer) return;
    for (const peer of this.settings.federation.peers) void this.dial(peer);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearInterval(this.claimTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * The link over which lines for the cluster go to `host`: any live link for a server alone; on
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

  /** A live link to the server `host`, if there is one. */
  linkTo(host: string): Session | undefined {
    const links = this.links.get(host);
    return links ? links.values().next().value : undefined;
  }

  /** Every live link, one per peer. */
  /** How many peers this server has a live link to. */
  get linksUp(): number {
    return this.links.size;
  }

  liveLinks(): Session[] {
    return [...this.links.keys()].map((peer) => this.linkTo(peer) as Session);
  }

  /** `FEDERATE-OUT [<hostname>]` on a client connection: becomes a link if the address is allowed. */
  accept(session: Session, announced: string): boolean {
    const address = plainAddress(session.remoteAddress);
    if (session.user !== undefined || !this.allowedAddresses.has(address)) {
      this.log.warn(`${session.id} refused a federation handshake from ${address}: not an allowed peer`);
      return false;
    }
    const owners = this.addressOwners.get(address) ?? [];
    const peer = announced || (owners.length === 1 ? label(owners[0]) : address);
    session.send(Reply.federateConfirm(this.hostname));
    this.up(session, peer);
    return true;
  }

  /** `FEDERATE-CONFIRM [<hostname>]` on a link this server dialed. */
  confirmed(session: Session, announced: string): void {
    const peer = this.dialed.get(session);
    if (!peer) return;
    this.retryDelay.delete(peer);
    this.up(session, announced || label(peer));
  }

  /** A connection ended: forget its link, and dial again if it was ours. */
  closed(session: Session): void {
    if (session.role === 'link' && session.peer) {
      const links = this.links.get(session.peer);
      links?.delete(session);
      if (links?.size === 0) {
        this.links.delete(session.peer);
        this.log.log(`link to ${session.peer} is down`);
        this.stopRelaying(session.peer);
        this.events?.linkDown(session.peer);
      }
    }
    const peer = this.dialed.get(session);
    if (peer) {
      this.dialed.delete(session);
      this.retryLater(peer);
    }
  }

  private up(session: Session, peer: string): void {
    session.role = 'link';
    session.peer = peer;
    const links = this.links.get(peer) ?? new Set<Session>();
    links.add(session);
    this.links.set(peer, links);
    this.log.log(`link to ${peer} is up (${session.id})`);
    this.events?.linkUp(session);
    if (this.shared && !this.relaying.has(peer)) void this.claimRelay(peer);
  }

  private async dial(peer: PeerAddress): Promise<void> {
    if (this.stopped || !this.dialer) return;
    if (this.shared && !(await this.holdsDial(peer))) {
      this.later(this.claimRetryMs, () => void this.dial(peer));
      return;
    }
    const bind = this.settings.host;
    const localAddress = bind !== '0.0.0.0' && bind !== '::' && isIP(bind) ? bind : undefined;
    try {
      const session = await this.dialer.dial({ host: peer.host, port: peer.port, localAddress });
      this.dialed.set(session, peer);
      session.send(Reply.federateOut(this.hostname));
      this.later(HANDSHAKE_TIMEOUT_MS, () => {
        if (session.role === 'dialing') {
          this.log.warn(`${label(peer)} did not confirm the federation handshake`);
          session.close();
        }
      });
    } catch (error) {
      this.log.debug(`cannot reach peer ${label(peer)}: ${(error as Error).message}`);
      this.retryLater(peer);
    }
  }

  /** Whether this instance may dial `peer` (it holds, or just took, its dial claim). */
  private async holdsDial(peer: PeerAddress): Promise<boolean> {
    try {
      return await (this.shared as SharedLinks).claimDial(label(peer));
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
      for (const peer of [...this.links.keys()]) {
        if (!this.relaying.has(peer)) await this.claimRelay(peer);
        else if (!(await shared.claimRelay(peer))) {
          this.relaying.delete(peer);
          this.log.warn(`another instance relays to ${peer} now`);
        }
      }
      for (const [session, peer] of [...this.dialed]) {
        if (!(await shared.claimDial(label(peer)))) {
          this.log.warn(`another instance dials ${label(peer)} now; closing this instance's link`);
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
    for (const links of this.links.values()) for (const link of links) link.close();
    for (const session of this.dialed.keys()) session.close();
  }

  private retryLater(peer: PeerAddress): void {
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

  /** The addresses inbound links may come from: the listed peers' (resolved), or `federation.acceptFrom`. */
  private async resolveAllowedAddresses(): Promise<void> {
    const { peers, acceptFrom } = this.settings.federation;
    const owners = new Map<string, PeerAddress[]>();
    for (const peer of peers) {
      for (const address of await this.addressesOf(peer.host)) owners.set(address, [...(owners.get(address) ?? []), peer]);
    }
    this.addressOwners = owners;
    if (acceptFrom === 'listed') {
      this.allowedAddresses = new Set(owners.keys());
      return;
    }
    const allowed = new Set<string>();
    for (const host of acceptFrom) for (const address of await this.addressesOf(host)) allowed.add(address);
    this.allowedAddresses = allowed;
  }

  private async addressesOf(host: string): Promise<string[]> {
    if (isIP(host)) return [plainAddress(host)];
    try {
      return (await lookup(host, { all: true })).map(({ address }) => plainAddress(address));
    } catch {
      this.log.warn(`cannot resolve peer host ${host}`);
      return [];
    }
  }
}
