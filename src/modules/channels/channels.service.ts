import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { isUniqueViolation } from '../../database/unique-violation';
import { sortByCodePoint } from '../../domain/code-point-order';
import { isValidChannelName } from '../../domain/names';
import { parseUserRef } from '../../domain/qualified-names';
import { Reply } from '../../transport/replies';
import { User } from '../auth/user.entity';
import { Federation } from '../federation/federation.service';
import { Presence } from '../presence/presence';
import { Channel } from './channel.entity';
import { ChannelDirectory } from './channel-directory';
import { Membership } from './membership.entity';
import { RemoteMembership } from './remote-membership.entity';

@Injectable()
export class ChannelsService implements OnModuleInit {
  constructor(
    @InjectRepository(Channel) private readonly channels: Repository<Channel>,
    @InjectRepository(Membership) private readonly memberships: Repository<Membership>,
    @InjectRepository(RemoteMembership) private readonly remoteMemberships: Repository<RemoteMembership>,
    private readonly directory: ChannelDirectory,
    private readonly presence: Presence,
    private readonly federation: Federation,
  ) {}

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
    this.federation.offer({ names: () => this.directory.names() });
  }

  /** False when the name is invalid or the channel exists. The creator is not joined. */
  async create(name: string): Promise<boolean> {
    if (!isValidChannelName(name) || this.directory.has(name)) return false;
    try {
      const { identifiers } = await this.channels.insert({ name });
      this.directory.add(identifiers[0].id as number, name);
      this.federation.announce(name);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /**
   * False when the channel does not exist or the member is already in it. `member` is a local
   * user, or `name@host` for a user of another server; a local user's `<channel>:<host>` goes to
   * that server.
   */
  async join(member: string, name: string): Promise<boolean> {
    const remoteUser = parseUserRef(member);
    const target = this.federation.route(name);
    if (typeof target !== 'string') return remoteUser ? false : this.federation.join(member, target);
    const channel = this.directory.get(target);
    if (!channel || channel.members.has(member)) return false;
    try {
      if (remoteUser) {
        await this.remoteMemberships.insert({ channelId: channel.id, userName: remoteUser.name, userHost: remoteUser.host });
      } else {
        await this.memberships
          .createQueryBuilder()
          .insert()
          .values({ channelId: channel.id, userId: () => '(SELECT id FROM users WHERE name = :user)' })
          .setParameter('user', member)
          .execute();
      }
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
    channel.members.add(member);
    return true;
  }

  /**
   * Sends RECV to every member, the sender included: online local members directly, members on
   * other servers through federation. False when the sender may not speak there.
   */
  say(user: string, name: string, message: string): boolean {
    const target = this.federation.route(name);
    if (typeof target !== 'string') return parseUserRef(user) ? false : this.federation.say(user, target, message);
    const channel = this.directory.get(target);
    if (!channel || !channel.members.has(user)) return false;
    this.presence.deliver(channel.members, Reply.recv(user, target, message));
    return true;
  }

  /** This server's channels bare, other servers' as `<name>:<host>`, in code point order. */
  list(): readonly string[] {
    const remote = this.federation.channelNames();
    return remote.length === 0 ? this.directory.names() : sortByCodePoint([...this.directory.names(), ...remote]);
  }
}
