import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { SETTINGS, Settings } from '../../config/settings';
import { isUniqueViolation } from '../../database/unique-violation';
import { sortByCodePoint } from '../../domain/code-point-order';
import { nameRisk } from '../../domain/name-safety';
import { isValidChannelName } from '../../domain/names';
import { ThrottledWarnings } from '../../logging/throttled-warnings';
import { parseChannelRef, parseUserRef, Qualified } from '../../domain/qualified-names';
import { Reply } from '../../transport/replies';
import { User } from '../auth/user.entity';
import { Presence } from '../presence/presence';
import { Channel } from './channel.entity';
import { ChannelDirectory } from './channel-directory';
import { ChannelEvents } from './channel-events';
import { ChannelReplication } from './channel-replication';
import { Membership } from './membership.entity';
import { MembershipWrites } from './membership-writes';
import { NO_REMOTE_CHANNELS, RemoteChannels } from './remote-channels';
import { RemoteMembership } from './remote-membership.entity';

/**
 * CREATE, JOIN, SAY and CHANNELS on this server's channels. What follows from them on other
 * servers is up to the subscribers of `ChannelEvents`; names of other servers' channels go to the
 * `RemoteChannels` plugged in. On an instance of a cluster, a `ChannelReplication` is plugged in
 * too: changes are stored, shared, and applied on every instance in the order it gives.
 */
@Injectable()
export class ChannelsService implements OnModuleInit {
  private remote: RemoteChannels = NO_REMOTE_CHANNELS;
  private replication?: ChannelReplication;
  private readonly log = new Logger('Channels');
  /** A quota refusal is logged once a minute per user (and once for the server's cap). */
  private readonly quotaLog = new ThrottledWarnings((message) => this.log.warn(message));

  constructor(
    @InjectRepository(Channel) private readonly channels: Repository<Channel>,
    @InjectRepository(Membership) private readonly memberships: Repository<Membership>,
    @InjectRepository(RemoteMembership) private readonly remoteMemberships: Repository<RemoteMembership>,
    private readonly membershipWrites: MembershipWrites,
    private readonly directory: ChannelDirectory,
    private readonly presence: Presence,
    private readonly events: ChannelEvents,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  /** Plugs in the channels of other servers (the federation module does, at start). */
  useRemoteChannels(remote: RemoteChannels): void {
    this.remote = remote;
  }

  /** Plugs in the sharing of changes between the instances of a cluster. */
  useReplication(replication: ChannelReplication): void {
    this.replication = replication;
  }

  async onModuleInit(): Promise<void> {
    for (const channel of await this.channels.find({ order: { id: 'ASC' } })) {
      this.directory.add(channel.id, channel.name);
    }
    const rows = await this.memberships
      .createQueryBuilder('membership')
      .innerJoin(Channel, 'channel', 'channel.id = membership.channel_id')
      .innerJoin(User, 'member', 'member.id = membership.user_id')
      .select(['channel.name AS channel', 'member.name AS member'])
      .getRawMany<{ channel: string; member: string }>();
    for (const { channel, member } of rows) this.directory.get(channel)?.members.add(member);
    const remote = await this.remoteMemberships
      .createQueryBuilder('membership')
      .innerJoin(Channel, 'channel', 'channel.id = membership.channel_id')
      .select(['channel.name AS channel', 'membership.user_name AS name', 'membership.user_host AS host'])
      .getRawMany<{ channel: string; name: string; host: string }>();
    for (const { channel, name, host } of remote) this.directory.get(channel)?.members.add(`${name}@${host}`);
  }

  /**
   * False when the name is invalid, the channel exists, or a channel quota is reached: this server
   * holds `limits.maxChannels`, or `creator` has created `limits.channelsPerUser`. The creator is
   * not joined.
   */
  async create(name: string, creator: string): Promise<boolean> {
    if (!isValidChannelName(name) || nameRisk(name) !== undefined) return false;
    if (!(await this.caughtUp()) || this.directory.has(name)) return false;
    if (!(await this.withinQuota(creator))) return false;
    let id: number;
    try {
      const { identifiers } = await this.channels.insert({ name, createdBy: creator });
      id = identifiers[0].id as number;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
    this.directory.add(id, name);
    await this.replication?.created(id, name);
    this.events.emit('channelCreated', { channel: name });
    return true;
  }

  /** Whether one more channel fits this server's cap and `creator`'s quota; a refusal is logged. */
  private async withinQuota(creator: string): Promise<boolean> {
    const { maxChannels, channelsPerUser } = this.settings.limits;
    if (this.directory.size >= maxChannels) {
      this.quotaLog.refuse('', `CREATE refused: this server holds ${maxChannels} channels (limits.maxChannels)`);
      return false;
    }
    if ((await this.channels.countBy({ createdBy: creator })) >= channelsPerUser) {
      this.quotaLog.refuse(creator, `CREATE by ${creator} refused: ${channelsPerUser} channels created (limits.channelsPerUser)`);
      return false;
    }
    return true;
  }

  /** Another instance created a channel (a no-op for this instance's own). */
  applyCreated(id: number, name: string): void {
    if (this.directory.has(name)) return;
    this.directory.add(id, name);
    this.events.emit('channelCreated', { channel: name });
  }

  /**
   * False when the channel does not exist or the member is already in it. `member` is a local
   * user, or `name@host` for a user of another server; a local user's `<channel>:<host>` goes to
   * that server.
   */
  async join(member: string, name: string): Promise<boolean> {
    const remoteUser = parseUserRef(member);
    const target = this.route(name);
    if (typeof target !== 'string') return remoteUser ? false : this.remote.join(member, target);
    if (!(await this.caughtUp())) return false;
    const channel = this.directory.get(target);
    if (!channel || channel.members.has(member)) return false;
    const stored = remoteUser
      ? await this.membershipWrites.addRemote(channel.id, remoteUser.name, remoteUser.host)
      : await this.membershipWrites.addLocal(channel.id, member);
    if (!stored) return false;
    channel.members.add(member);
    await this.replication?.joined(target, member);
    this.events.emit('memberJoined', { channel: target, member });
    return true;
  }

  /** Another instance stored a membership (a no-op for this instance's own). */
  applyJoined(name: string, member: string): void {
    const channel = this.directory.get(name);
    if (!channel || channel.members.has(member)) return;
    channel.members.add(member);
    this.events.emit('memberJoined', { channel: name, member });
  }

  /**
   * Sends RECV to every member online here, the sender included; the members elsewhere are the
   * subscribers' to reach. False when the sender may not speak there. On an instance of a cluster
   * the message is shared first and delivered when it comes back (`applyPosted`), so every
   * instance delivers a channel's messages in the same order; false when it cannot be shared.
   */
  say(user: string, name: string, message: string): boolean | Promise<boolean> {
    const target = this.route(name);
    if (typeof target !== 'string') return parseUserRef(user) ? false : this.remote.say(user, target, message);
    const channel = this.directory.get(target);
    if (!channel || !channel.members.has(user)) return false;
    if (this.replication) {
      return this.replication.posted(target, user, message).then(
        () => true,
        () => false,
      );
    }
    this.applyPosted(target, user, message);
    return true;
  }

  /** Delivers a message said in a local channel to its members online here, and tells the subscribers. */
  applyPosted(name: string, from: string, message: string): void {
    const channel = this.directory.get(name);
    if (!channel) return;
    this.presence.deliver(channel.members, Reply.recv(from, name, message));
    this.events.emit('messagePosted', { channel: name, from, message, members: channel.members });
  }

  /**
   * This server's channels bare, other servers' as `<name>:<host>`, in code point order. On an
   * instance of a cluster, once it has applied what was acknowledged anywhere before (or at once
   * from what it knows, when Redis cannot be asked: CHANNELS has no failure reply).
   */
  async listCurrent(): Promise<readonly string[]> {
    if (this.replication) await this.caughtUp();
    return this.list();
  }

  /** This server's channels bare, other servers' as `<name>:<host>`, in code point order. */
  list(): readonly string[] {
    const remote = this.remote.names();
    return remote.length === 0 ? this.directory.names() : sortByCodePoint([...this.directory.names(), ...remote]);
  }

  /** This server's own channels, bare, in code point order: what peers are offered. */
  localNames(): readonly string[] {
    return this.directory.names();
  }

  /** True at once for a server alone; on an instance of a cluster, false when it cannot catch up. */
  private async caughtUp(): Promise<boolean> {
    if (!this.replication) return true;
    try {
      await this.replication.caughtUp();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Where a channel name points: a `<channel>:<host>` of another server, or the name of a local
   * channel (a name qualified with this server's own hostname means the local channel).
   */
  private route(name: string): Qualified | string {
    const ref = parseChannelRef(name);
    if (!ref) return name;
    return ref.host === this.settings.hostname ? ref.name : ref;
  }
}
