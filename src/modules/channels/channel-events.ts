import { Injectable } from '@nestjs/common';
import { DomainEvents } from '../../domain/domain-events';

/** A local channel was created (after it was stored). */
export interface ChannelCreated {
  readonly channel: string;
}

/** A member joined a local channel (after the membership was stored); `member` may be `name@host`. */
export interface MemberJoined {
  readonly channel: string;
  readonly member: string;
}

/**
 * A message was said in a local channel and delivered to its members online here. `members` is
 * every member, the sender included; those of other servers are named `name@host`.
 */
export interface MessagePosted {
  readonly channel: string;
  readonly from: string;
  readonly message: string;
  readonly members: ReadonlySet<string>;
}

export interface ChannelEventMap {
  channelCreated: ChannelCreated;
  memberJoined: MemberJoined;
  messagePosted: MessagePosted;
}

/** What happens in this server's channels, for the modules that react to it (federation, a bus, history). */
@Injectable()
export class ChannelEvents extends DomainEvents<ChannelEventMap> {}
