import { Controller, UseGuards } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Command, resultOf, Verb } from '../../transport/command';
import { LineContext } from '../../transport/line-context';
import { LoggedInGuard } from '../../transport/logged-in.guard';
import { Reply } from '../../transport/replies';
import { ChannelsService } from './channels.service';

@Controller()
export class ChannelsController {
  constructor(private readonly channels: ChannelsService) {}

  // CREATE <channel>
  @Verb('CREATE', { fields: ['channel'], subject: 'channel' })
  @UseGuards(LoggedInGuard)
  async create(@Payload() command: Command<{ channel: string }>, @Ctx() context: LineContext): Promise<Reply> {
    return resultOf(command, await this.channels.create(command.args.channel, userOf(context)));
  }

  // JOIN <channel>
  @Verb('JOIN', { fields: ['channel'], subject: 'channel' })
  @UseGuards(LoggedInGuard)
  async join(@Payload() command: Command<{ channel: string }>, @Ctx() context: LineContext): Promise<Reply> {
    return resultOf(command, await this.channels.join(userOf(context), command.args.channel));
  }

  // SAY <channel> <message…>   (success is the sender's own RECV, so no RESULT)
  @Verb('SAY', { fields: ['channel'], rest: 'message' })
  @UseGuards(LoggedInGuard)
  say(
    @Payload() command: Command<{ channel: string; message: string }>,
    @Ctx() context: LineContext,
  ): Reply | undefined | Promise<Reply | undefined> {
    const { channel, message } = command.args;
    const said = this.channels.say(userOf(context), channel, message);
    if (typeof said === 'boolean') return said ? undefined : resultOf(command, false);
    return said.then((ok) => (ok ? undefined : resultOf(command, false)));
  }

  // CHANNELS
  @Verb('CHANNELS', { fields: [], canFail: false, lenient: true })
  async list(): Promise<Reply> {
    return Reply.list('CHANNELS', await this.channels.listCurrent());
  }
}

function userOf(context: LineContext): string {
  return context.getSession().user as string;
}
