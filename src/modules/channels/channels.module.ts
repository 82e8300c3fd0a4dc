import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PresenceModule } from '../presence/presence.module';
import { Channel } from './channel.entity';
import { ChannelDirectory } from './channel-directory';
import { ChannelEvents } from './channel-events';
import { ChannelsController } from './channels.controller';
import { ChannelsService } from './channels.service';
import { Membership } from './membership.entity';
import { MembershipWrites } from './membership-writes';
import { RemoteMembership } from './remote-membership.entity';

/** CREATE, JOIN, SAY, CHANNELS; other modules subscribe to `ChannelEvents` and plug in `RemoteChannels`. */
@Module({
  imports: [TypeOrmModule.forFeature([Channel, Membership, RemoteMembership]), PresenceModule],
  controllers: [ChannelsController],
  providers: [ChannelsService, MembershipWrites, ChannelDirectory, ChannelEvents],
  exports: [ChannelsService, ChannelEvents],
})
export class ChannelsModule {}
