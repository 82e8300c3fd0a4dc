import { Global, Module } from '@nestjs/common';
import { LocalPresence, Presence } from './presence';
import { PresenceController } from './presence.controller';

@Global()
@Module({
  controllers: [PresenceController],
  providers: [{ provide: Presence, useClass: LocalPresence }],
  exports: [Presence],
})
export class PresenceModule {}
