import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Channel } from './channel.entity';
import { ChannelDirectory } from './channel-directory';
import { ChannelsController } from './channels.controller';
import { ChannelsService } from './channels.service';
import { Membership } from './membership.entity';
import { RemoteMembership } from './remote-membership.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Channel, Membership, RemoteMembership])],
  controllers: [ChannelsController],
  providers: [ChannelsService, ChannelDirectory],
  exports: [ChannelsService],
})
export class ChannelsModule {}
