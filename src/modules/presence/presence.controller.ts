import { Controller } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { LineContext } from '../../transport/line-context';
import { SESSION_CLOSED } from '../../transport/session';
import { Presence } from './presence';

@Controller()
export class PresenceController {
  constructor(private readonly presence: Presence) {}

  // Closing the connection logs out.
  @EventPattern(SESSION_CLOSED)
  sessionClosed(@Ctx() context: LineContext): Promise<void> {
    return this.presence.detach(context.getSession());
  }
}
