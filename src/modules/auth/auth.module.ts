import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClusterModule } from '../cluster/cluster.module';
import { PresenceModule } from '../presence/presence.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { UserAccounts } from './user-accounts';
import { User } from './user.entity';

@Module({
  imports: [TypeOrmModule.forFeature([User]), PresenceModule, ClusterModule],
  controllers: [AuthController],
  providers: [AuthService, UserAccounts],
  exports: [AuthService],
})
export class AuthModule {}
