import { User } from '../modules/auth/user.entity';
import { Channel } from '../modules/channels/channel.entity';
import { Membership } from '../modules/channels/membership.entity';
import { RemoteMembership } from '../modules/channels/remote-membership.entity';
import { RemoteChannelMembership } from '../modules/federation/remote-channel-membership.entity';

/** Every entity of the schema; a new module adds its entities here and a migration for them. */
export const ENTITIES = [User, Channel, Membership, RemoteMembership, RemoteChannelMembership];
