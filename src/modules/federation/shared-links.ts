import { Qualified } from '../../domain/qualified-names';
import { Reply } from '../../transport/replies';
import { ClusterConnection } from '../cluster/cluster-connection';
import { ALIVE_PREFIX } from '../cluster/instance-lease';

/** Which instance dials each configured peer (`<host>:<port>` → holder). */
const DIALS = 'chat:federation:dials';
/** Which instance speaks for the cluster to each peer server (hostname → holder). */
const RELAYS = 'chat:federation:relays';
/** The channels each peer server announced (hostname → JSON list). */
const PEER_CHANNELS = 'chat:federation:channels';

/**
 * Claims field ARGV[1] of hash KEYS[1] for ARGV[2] unless a live holder (its lease key
 * `chat:alive:<holder>` exists) has it. 1 when held by ARGV[2] afterwards.
 */
const CLAIM = `
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if holder and holder ~= ARGV[2] and redis.call('EXISTS', ARGV[3] .. holder) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

const RELEASE = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

/** The fields of hash KEYS[1] whose holder is alive, as a flat field/value list. */
const LIVE_FIELDS = `
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  if redis.call('EXISTS', ARGV[1] .. all[i + 1]) == 1 then
    live[#live + 1] = all[i]
    live[#live + 1] = all[i + 1]
  end
end
return live`;

/** Bus events of federation. */
const OUT = 'fed-out';
const IN = 'fed-in';
const CHANNELS = 'fed-channels';
const RELAY = 'fed-relay';
const MEMBER = 'fed-member';

/**
 * A line from a peer for users who may be on other instances: the peer's hostname, the verb and
 * its fields (a FEDCAST is delivered by every instance to its own members online). `vouched`: the
 * sender written bare was checked against that user's pending SAY, by the instance that has it.
 */
export interface ForwardedIn {
  readonly peer: string;
  readonly line: 'FEDRESULT' | 'FEDRECV' | 'FEDCAST';
  readonly args: readonly string[];
  readonly vouched?: boolean;
}

export interface SharedLinkEvents {
  /** A line for `host`, from an instance without a link to it: sent by the instance that relays to `host`. */
  out(host: string, reply: Reply): void;
  /** A line from a peer, for a user of whichever instance has that user or that request. */
  in(forwarded: ForwardedIn, origin: string): void;
  /** A peer server's channels, learned by some instance. */
  channels(host: string, names: readonly string[]): void;
  /** A local user's membership of a peer's channel, learned (and stored) by some instance. */
  member(user: string, channel: Qualified): void;
}

/**
 * Federation's part of a cluster's shared state. Every instance shares one hostname, so to a
 * peer the cluster is one server:
 * - each configured peer is dialed by exactly one instance (a claim under its lease, taken over
 *   by another instance within the lease when it dies);
 * - for each peer server one instance with a link to it relays the cluster's lines to it
 *   (FEDRECV, FEDNEW, and the FEDJOIN/FEDSAY of users of instances without a link);
 * - lines from a peer for users of other instances, the peers' channel lists and the local users'
 *   memberships of the peers' channels go over the bus.
 */
export class SharedLinks {
  /** Peer hostname → instance id of the instance relaying to it, as last announced. */
  private readonly relays = new Map<string, string>();

  constructor(private readonly cluster: ClusterConnection) {}

  get instanceId(): string {
    return this.cluster.instanceId;
  }

  /** Subscribes to federation's bus events; relays known now are loaded first. */
  async start(events: SharedLinkEvents): Promise<void> {
    const { bus } = this.cluster;
    bus.on(OUT, (data) => {
      const { host, reply } = data as { host: string; reply: Reply };
      events.out(host, reply);
    });
    bus.on(IN, (data, origin) => events.in(data as ForwardedIn, origin));
    bus.on(CHANNELS, (data) => {
      const { host, names } = data as { host: string; names: string[] };
      events.channels(host, names);
    });
    bus.on(MEMBER, (data) => {
      const { user, name, host } = data as { user: string; name: string; host: string };
      events.member(user, { name, host });
    });
    bus.on(RELAY, (data) => {
      const { host, instance } = data as { host: string; instance: string | null };
      if (instance === null) this.relays.delete(host);
      else this.relays.set(host, instance);
    });
    for (const [host, holder] of await this.liveFields(RELAYS)) this.relays.set(host, holder.split(':')[0]);
    for (const [host, list] of await this.allFields(PEER_CHANNELS)) events.channels(host, JSON.parse(list) as string[]);
  }

  /** Whether some instance relays to `host` (as far as this one knows). */
  relayed(host: string): boolean {
    return this.relays.has(host);
  }

  /** Takes (or keeps) the dialing of the peer at `label`; false when another live instance has it. */
  async claimDial(label: string): Promise<boolean> {
    return this.claim(DIALS, label);
  }

  async releaseDial(label: string): Promise<void> {
    await this.release(DIALS, label);
  }

  /** Takes (or keeps) the relaying to `host`; announced to every instance when it changes hands. */
  async claimRelay(host: string): Promise<boolean> {
    const claimed = await this.claim(RELAYS, host);
    if (claimed && this.relays.get(host) !== this.instanceId)
      await this.cluster.bus.publish(RELAY, { host, instance: this.instanceId });
    return claimed;
  }

  async releaseRelay(host: string): Promise<void> {
    if (await this.release(RELAYS, host)) await this.cluster.bus.publish(RELAY, { host, instance: null });
  }

  /** Hands a line for `host` to the instance relaying to it. */
  async forwardOut(host: string, reply: Reply): Promise<void> {
    await this.cluster.bus.publish(OUT, { host, reply });
  }

  /** Hands a line from a peer to every instance; the one it concerns acts on it. */
  async forwardIn(forwarded: ForwardedIn): Promise<void> {
    await this.cluster.bus.publish(IN, forwarded);
  }

  /** Stores and announces a peer's channels (a FEDCHANNELS, or the list after a FEDNEW). */
  async shareChannels(host: string, names: readonly string[]): Promise<void> {
    await this.cluster.commands.script(
      "return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])",
      [PEER_CHANNELS],
      [host, JSON.stringify(names)],
    );
    await this.cluster.bus.publish(CHANNELS, { host, names });
  }

  /** Tells every instance of a local user's membership of a peer's channel (stored already). */
  async shareMembership(user: string, channel: Qualified): Promise<void> {
    await this.cluster.bus.publish(MEMBER, { user, name: channel.name, host: channel.host });
  }

  /** Runs `action` when this instance loses its lease: its claims are void. */
  onLeaseLost(action: () => void): void {
    this.cluster.lease.onLost(action);
  }

  private async claim(hash: string, field: string): Promise<boolean> {
    if (!this.cluster.lease.held) return false;
    return (await this.cluster.commands.script(CLAIM, [hash], [field, this.cluster.lease.holder, ALIVE_PREFIX])) === 1;
  }

  private async release(hash: string, field: string): Promise<boolean> {
    return (await this.cluster.commands.script(RELEASE, [hash], [field, this.cluster.lease.holder])) === 1;
  }

  private async liveFields(hash: string): Promise<[string, string][]> {
    return pairs((await this.cluster.commands.script(LIVE_FIELDS, [hash], [ALIVE_PREFIX])) as string[]);
  }

  private async allFields(hash: string): Promise<[string, string][]> {
    return pairs((await this.cluster.commands.script("return redis.call('HGETALL', KEYS[1])", [hash], [])) as string[]);
  }
}

function pairs(flat: readonly string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) result.push([flat[i], flat[i + 1]]);
  return result;
}
