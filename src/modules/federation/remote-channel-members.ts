import { Logger } from '@nestjs/common';
import { Repository } from 'typeorm';
import { MemberSet } from '../../domain/member-set';
import { Qualified } from '../../domain/qualified-names';
import { User } from '../auth/user.entity';
import { RemoteChannelMembership } from './remote-channel-membership.entity';
import { SharedLinks } from './shared-links';

const NONE: ReadonlySet<string> = new MemberSet();

/**
 * Which local users are members of which channels of other servers, in memory (loaded at start)
 * so that checking a FEDRECV and fanning out a FEDCAST touch no database. A membership is learned
 * from the channel's server: a FEDRESULT … JOIN … 1 answering a JOIN, or the echo of the user's
 * own SAY. It is stored, and on an instance of a cluster told to the other instances.
 */
export class RemoteChannelMembers {
  /** `<channel>:<host>` → local user names. */
  private readonly members = new Map<string, MemberSet>();

  /** Without a repository (unit tests), memberships are kept in memory only. */
  constructor(
    private readonly memberships: Repository<RemoteChannelMembership> | undefined,
    private readonly shared: SharedLinks | null,
    private readonly log: Logger,
  ) {}

  async load(): Promise<void> {
    if (!this.memberships) return;
    const rows = await this.memberships
      .createQueryBuilder('membership')
      .innerJoin(User, 'member', 'member.id = membership.user_id')
      .select(['member.name AS user', 'membership.channel_name AS channel', 'membership.channel_host AS host'])
      .getRawMany<{ user: string; channel: string; host: string }>();
    for (const { user, channel, host } of rows) this.remember(user, { name: channel, host });
  }

  has(user: string, channel: Qualified): boolean {
    return this.members.get(keyOf(channel))?.has(user) ?? false;
  }

  /** The local members of a channel of another server. */
  of(channel: Qualified): ReadonlySet<string> {
    return this.members.get(keyOf(channel)) ?? NONE;
  }

  /**
   * Records a membership the channel's server confirmed: at once in memory, then stored and (on
   * an instance of a cluster) told to the other instances. Resolves when both are done; a
   * failure is logged, the membership stays known here.
   */
  async add(user: string, channel: Qualified): Promise<void> {
    if (!this.remember(user, channel)) return;
    try {
      await this.memberships
        ?.createQueryBuilder()
        .insert()
        .values({
          userId: () => '(SELECT id FROM users WHERE name = :user)',
          channelName: channel.name,
          channelHost: channel.host,
        })
        .setParameter('user', user)
        .orIgnore()
        .execute();
      await this.shared?.shareMembership(user, channel);
    } catch (error) {
      this.log.warn(`the membership of ${user} in ${keyOf(channel)} could not be stored or shared: ${(error as Error).message}`);
    }
  }

  /** A membership another instance learned (already stored). */
  learned(user: string, channel: Qualified): void {
    this.remember(user, channel);
  }

  /** False when it was known. */
  private remember(user: string, channel: Qualified): boolean {
    const key = keyOf(channel);
    let users = this.members.get(key);
    if (!users) this.members.set(key, (users = new MemberSet()));
    return users.add(user);
  }
}

function keyOf(channel: Qualified): string {
  return `${channel.name}:${channel.host}`;
}
