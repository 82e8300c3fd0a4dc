import { Module } from '@nestjs/common';
import { ChannelsModule } from '../channels/channels.module';
import { PresenceModule } from '../presence/presence.module';
import { FederationController } from './federation.controller';
import { Federation } from './federation.service';
import { PeerLinks } from './peer-links';

/** Links to peer servers and the FED lines over them; it plugs into the channels module, which knows nothing of it. */
@Module({
  imports: [ChannelsModule, PresenceModule],
  controllers: [FederationController],
  providers: [PeerLinks, Federation],
  exports: [PeerLinks],
})
export class FederationModule {}
