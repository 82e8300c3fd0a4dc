import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { isUniqueViolation } from '../../database/unique-violation';
import { isValidChannelName } from '../../domain/names';
import { Reply } from '../../transport/replies';
import { User } from '../auth/user.entity';
import { Presence } from '../presence/presence';
import { Channel } from './channel.entity';
import { ChannelDirectory } from './channel-directory';
import { Membership } from './membership.entity';

@Injectable()
export class ChannelsService implements OnModuleInit {
  constructor(
    @InjectRepository(Channel) private readonly channels: Repository<Channel>,
    @InjectRepository(Membership) private readonly memberships: Repository<Membership>,
    private readonly directory: ChannelDirectory,
    private readonly presence: Presence,
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
  }

  /** False when the name is invalid or the channel exists. The creator is not joined. */
  async create(name: string): Promise<boolean> {
    if (!isValidChannelName(name) || this.directory.has(name)) return false;
    try {
      const { identifiers } = await this.channels.insert({ name });
      this.directory.add(identifiers[0].id as number, name);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** False when the channel does not exist or the user is already a member. */
  async join(user: string, name: string): Promise<boolean> {
    const channel = this.directory.get(name);
    if (!channel || channel.members.has(user)) return false;
    try {
      await this.memberships
        .createQueryBuilder()
        .insert()
        .values({ channelId: channel.id, userId: () => '(SELECT id FROM users WHERE name = :user)' })
        .setParameter('user', user)
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
    channel.members.add(user);
    return true;
  }

  /** Sends RECV to every online member, the sender included; false when the user may not speak there. */
  say(user: string, name: string, message: string): boolean {
    const channel = this.directory.get(name);
    if (!channel || !channel.members.has(user)) return false;
    this.presence.deliver(channel.members, Reply.recv(user, name, message));
    return true;
  }

  list(): readonly string[] {
    return this.directory.names();
  }
}
