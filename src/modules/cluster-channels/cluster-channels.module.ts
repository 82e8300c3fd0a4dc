import { Module } from '@nestjs/common';
import { ChannelsModule } from '../channels/channels.module';
import { ClusterModule } from '../cluster/cluster.module';
import { PresenceModule } from '../presence/presence.module';
import { ClusterChannels } from './cluster-channels';

/** Channels shared by the instances of a cluster; imported only in cluster mode. */
@Module({
  imports: [ChannelsModule, ClusterModule, PresenceModule],
  providers: [ClusterChannels],
})
export class ClusterChannelsModule {}
