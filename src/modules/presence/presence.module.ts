import { Module } from '@nestjs/common';
import { LocalPresence, Presence } from './presence';
import { PresenceController } from './presence.controller';

/** Who is online. A shared presence replaces `LocalPresence` here, and nowhere else. */
@Module({
  controllers: [PresenceController],
  providers: [{ provide: Presence, useClass: LocalPresence }],
  exports: [Presence],
})
export class PresenceModule {}
