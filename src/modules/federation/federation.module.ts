import { Global, Module } from '@nestjs/common';
import { ChannelsModule } from '../channels/channels.module';
import { FederationController } from './federation.controller';
import { Federation } from './federation.service';
import { PeerLinks } from './peer-links';

/** Links to peer servers and the FED lines over them; other modules use the `Federation` provider. */
@Global()
@Module({
  imports: [ChannelsModule],
  controllers: [FederationController],
  providers: [PeerLinks, Federation],
  exports: [Federation, PeerLinks],
})
export class FederationModule {}
