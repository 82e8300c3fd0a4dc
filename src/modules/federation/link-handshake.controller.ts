import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Command, CommandSyntax, Verb } from '../../transport/command';
import { LineContext } from '../../transport/line-context';
import { PeerLinks } from './peer-links';

const HANDSHAKE: CommandSyntax = { fields: [], rest: 'words', restMayBeEmpty: true, canFail: false };

/** The lines that make a connection a link (docs/PROTOCOL.md §6.1–6.3). None has a failure reply; refusals are logged. */
@Controller()
export class LinkHandshakeController {
  constructor(private readonly links: PeerLinks) {}

  // FEDERATE-OUT [<hostname> [key=value…]]   (on a client connection: asks to become a link)
  @Verb(['FEDERATE-OUT', 'FEDERATEOUT', 'FEDOUT'], { ...HANDSHAKE, scope: 'client' })
  federateOut(@Payload() command: Command<{ words: string }>, @Ctx() context: LineContext): void {
    this.links.accept(context.getSession(), command.args.words);
  }

  // FEDERATE-CONFIRM [<hostname> [key=value…]]   (on a link this server dialed)
  @Verb(['FEDERATE-CONFIRM', 'FEDERATECONFIRM', 'FEDCONFIRM'], { ...HANDSHAKE, scope: 'dialing' })
  federateConfirm(@Payload() command: Command<{ words: string }>, @Ctx() context: LineContext): void {
    this.links.confirmed(context.getSession(), command.args.words);
  }

  // FEDAUTH <proof>   (on a connection whose FEDERATE-OUT was answered with a challenge)
  @Verb('FEDAUTH', { fields: ['proof'], scope: 'accepting', canFail: false })
  fedAuth(@Payload() command: Command<{ proof: string }>, @Ctx() context: LineContext): void {
    this.links.authenticated(context.getSession(), command.args.proof);
  }
}
