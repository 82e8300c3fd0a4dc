import { Settings } from '../../config/settings';
import { isValidChannelName } from '../../domain/names';

/** What became of a FEDNEW. */
export type Added = 'added' | 'known' | 'invalid' | 'full';

/**
 * The channels each peer server announced (FEDCHANNELS, FEDNEW), for CHANNELS, JOIN and SAY.
 * Only names of configured peers hold channels, at most `limits.channelsPerPeer` each, and only
 * valid channel names, so no amount of peer traffic makes CHANNELS unusable.
 */
export class PeerChannels {
  private readonly byPeer = new Map<string, Set<string>>();
  private configured: ReadonlySet<string> = new Set();

  constructor(private readonly settings: Settings) {
    this.reconfigure();
  }

  /** Reads the peers list (again, after a reload): channels of names no longer configured are forgotten. */
  reconfigure(): void {
    // A peer is named by its `hostname`, else `host:port`; a bare handshake may leave just the host.
    const names = new Set<string>();
    for (const peer of this.settings.federation.peers ?? []) {
      names.add(peer.hostname ?? `${peer.host}:${peer.port}`);
      names.add(peer.host);
    }
    this.configured = names;
    for (const peer of [...this.byPeer.keys()]) if (!names.has(peer)) this.byPeer.delete(peer);
  }

  get cap(): number {
    return this.settings.limits.channelsPerPeer;
  }

  /** Whether `peer` is a name the configuration gives a peer. */
  isConfigured(peer: string): boolean {
    return this.configured.has(peer);
  }

  /**
   * Replaces what was known of `peer`'s channels with the valid names of `names`, the first
   * `channelsPerPeer` of them. Returns how many valid names were over the cap.
   */
  replace(peer: string, names: Iterable<string>): number {
    const kept = new Set<string>();
    let over = 0;
    for (const name of names) {
      if (!isValidChannelName(name) || kept.has(name)) continue;
      if (kept.size < this.cap) kept.add(name);
      else over++;
    }
    this.byPeer.set(peer, kept);
    return over;
  }

  add(peer: string, name: string): Added {
    if (!isValidChannelName(name)) return 'invalid';
    const known = this.byPeer.get(peer) ?? new Set<string>();
    if (known.has(name)) return 'known';
    if (known.size >= this.cap) return 'full';
    known.add(name);
    this.byPeer.set(peer, known);
    return 'added';
  }

  /** `peer`'s channels, in the order they were learned. */
  of(peer: string): readonly string[] {
    return [...(this.byPeer.get(peer) ?? [])];
  }

  /** Every known channel of a peer, as `<name>:<peer>`. */
  names(): string[] {
    const names: string[] = [];
    for (const [peer, channels] of this.byPeer) for (const name of channels) names.push(`${name}:${peer}`);
    return names;
  }
}
