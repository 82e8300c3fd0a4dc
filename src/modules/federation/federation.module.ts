import { Module } from '@nestjs/common';
import { ChannelsModule } from '../channels/channels.module';
import { CLUSTER, ClusterModule } from '../cluster/cluster.module';
import { ClusterConnection } from '../cluster/cluster-connection';
import { SHARED_LINKS } from './federation-tokens';
import { SharedLinks } from './shared-links';
import { PresenceModule } from '../presence/presence.module';
import { FederationController } from './federation.controller';
import { LinkHandshakeController } from './link-handshake.controller';
import { Federation } from './federation.service';
import { PeerLinks } from './peer-links';

/** Links to peer servers and the FED lines over them; it plugs into the channels module, which knows nothing of it. */
@Module({
  imports: [ChannelsModule, PresenceModule, ClusterModule],
  controllers: [LinkHandshakeController, FederationController],
  providers: [
    PeerLinks,
    Federation,
    {
      provide: SHARED_LINKS,
      inject: [CLUSTER],
      useFactory: (cluster: ClusterConnection | null) => (cluster ? new SharedLinks(cluster) : null),
    },
  ],
  exports: [PeerLinks],
})
export class FederationModule {}
