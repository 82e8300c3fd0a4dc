import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Channel } from './channel.entity';
import { ChannelDirectory } from './channel-directory';
import { ChannelsController } from './channels.controller';
import { ChannelsService } from './channels.service';
import { Membership } from './membership.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Channel, Membership])],
  controllers: [ChannelsController],
  providers: [ChannelsService, ChannelDirectory],
})
export class ChannelsModule {}
