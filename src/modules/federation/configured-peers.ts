import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PeerSettings, Settings } from '../../config/settings';

/** Addresses compare without the IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1`). */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** `<host>:<port>`: how logs and the cluster's dial claims name a configured peer. */
export function addressOf(peer: PeerSettings): string {
  return `${peer.host}:${peer.port}`;
}

/**
 * The peers of the configuration and the names each may hold (docs/PROTOCOL.md §6.1): its
 * `hostname` when one is configured; otherwise its address `<host>:<port>`, or `<host>` alone
 * when no other peer has that host. A link is accepted only under one of these names, so a peer
 * can neither take this server's name nor another peer's.
 */
export class ConfiguredPeers {
  private readonly names = new Map<string, PeerSettings>();
  private addressOwners = new Map<string, PeerSettings[]>();
  private allowed = new Set<string>();

  constructor(
    private readonly settings: Settings,
    private readonly warn: (message: string) => void,
  ) {
    const { peers } = settings.federation;
    for (const peer of peers) {
      if (peer.hostname !== undefined) {
        this.names.set(peer.hostname, peer);
        continue;
      }
      this.names.set(addressOf(peer), peer);
      const sameHost = peers.filter((other) => other.host === peer.host).length;
      if (sameHost === 1 && peer.host !== settings.hostname && !this.names.has(peer.host)) this.names.set(peer.host, peer);
    }
  }

  get all(): readonly PeerSettings[] {
    return this.settings.federation.peers;
  }

  /** The peer that may hold `name`, if any. */
  named(name: string): PeerSettings | undefined {
    return this.names.get(name);
  }

  /** The name a peer holds when it announces none: its configured hostname, or its address. */
  defaultName(peer: PeerSettings): string {
    return peer.hostname ?? addressOf(peer);
  }

  /** Every name some configured peer may hold. */
  isPeerName(name: string): boolean {
    return this.names.has(name);
  }

  /** The names `peer` may hold, for a log line that says what was expected. */
  namesOf(peer: PeerSettings): string[] {
    return [...this.names].filter(([, owner]) => owner === peer).map(([name]) => name);
  }

  /** Whether an inbound link may come from `address` at all (`federation.acceptFrom`). */
  mayConnect(address: string): boolean {
    return this.allowed.has(plainAddress(address));
  }

  /**
   * Whether `peer` may connect from `address`: one of its own addresses, or with
   * `federation.acceptFrom` set to a list, any address of that list.
   */
  mayConnectAs(peer: PeerSettings, address: string): boolean {
    const plain = plainAddress(address);
    if (this.settings.federation.acceptFrom !== 'listed') return this.allowed.has(plain);
    return (this.addressOwners.get(plain) ?? []).includes(peer);
  }

  /** The configured peers whose host is at `address`. */
  ownersOf(address: string): readonly PeerSettings[] {
    return this.addressOwners.get(plainAddress(address)) ?? [];
  }

  /** Resolves the peers' hosts (and `acceptFrom`'s) to addresses; a host that does not resolve is logged and left out. */
  async resolve(): Promise<void> {
    const owners = new Map<string, PeerSettings[]>();
    for (const peer of this.all) {
      for (const address of await this.addressesOf(peer.host)) owners.set(address, [...(owners.get(address) ?? []), peer]);
    }
    this.addressOwners = owners;
    const { acceptFrom } = this.settings.federation;
    if (acceptFrom === 'listed') {
      this.allowed = new Set(owners.keys());
      return;
    }
    const allowed = new Set<string>();
    for (const host of acceptFrom) for (const address of await this.addressesOf(host)) allowed.add(address);
    this.allowed = allowed;
  }

  private async addressesOf(host: string): Promise<string[]> {
    if (isIP(host)) return [plainAddress(host)];
    try {
      return (await lookup(host, { all: true })).map(({ address }) => plainAddress(address));
    } catch {
      this.warn(`cannot resolve peer host ${host}`);
      return [];
    }
  }
}
