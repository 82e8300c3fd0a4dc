import { InitialSchema1795693295484 } from './1795693295484-InitialSchema';
import { ChannelCreators1796210664637 } from './1796210664637-ChannelCreators';
import { RemoteChannelMemberships1795699562917 } from './1795699562917-RemoteChannelMemberships';
import { RemoteMemberships1795696215242 } from './1795696215242-RemoteMemberships';

/** Every migration, oldest first. `npm run migration:generate` writes a new file; list it here. */
export const MIGRATIONS = [
  InitialSchema1795693295484,
  RemoteMemberships1795696215242,
  RemoteChannelMemberships1795699562917,
  ChannelCreators1796210664637,
];
