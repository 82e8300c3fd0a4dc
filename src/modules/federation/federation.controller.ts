import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Command, Verb } from '../../transport/command';
import { LineContext } from '../../transport/line-context';
import { SESSION_CLOSED } from '../../transport/session';
import { ChannelsService } from '../channels/channels.service';
import { Federation } from './federation.service';
import { PeerLinks } from './peer-links';

const ON_LINK = { scope: 'link', canFail: false } as const;

/** Server-to-server lines (docs/PROTOCOL.md §6). None has a failure reply; refusals are logged. */
@Controller()
export class FederationController {
  constructor(
    private readonly links: PeerLinks,
    private readonly federation: Federation,
    private readonly channels: ChannelsService,
  ) {}

  // FEDCHANNELS <name>, <name>, …
  @Verb('FEDCHANNELS', { fields: [], rest: 'list', restMayBeEmpty: true, ...ON_LINK })
  fedChannels(@Payload() command: Command<{ list: string }>, @Ctx() context: LineContext): void {
    this.federation.peerChannelList(context.getSession(), command.args.list);
  }

  // FEDNEW <channel>
  @Verb('FEDNEW', { fields: ['channel'], ...ON_LINK })
  fedNew(@Payload() command: Command<{ channel: string }>, @Ctx() context: LineContext): void {
    this.federation.peerCreated(context.getSession(), command.args.channel);
  }

  // FEDJOIN <user>@<userhost> <channel>
  @Verb('FEDJOIN', { fields: ['user', 'channel'], ...ON_LINK })
  async fedJoin(@Payload() command: Command<{ user: string; channel: string }>, @Ctx() context: LineContext): Promise<void> {
    const link = context.getSession();
    const member = this.federation.speaker(link, command.args.user, 'FEDJOIN');
    if (!member) return;
    const { channel } = command.args;
    const joined = await this.channels.join(member, channel);
    this.federation.answer(link, member, 'JOIN', joined, this.federation.qualified(channel));
  }

  // FEDSAY <user>@<userhost> <channel> <message…>
  @Verb('FEDSAY', { fields: ['user', 'channel'], rest: 'message', restMayBeEmpty: true, ...ON_LINK })
  async fedSay(
    @Payload() command: Command<{ user: string; channel: string; message: string }>,
    @Ctx() context: LineContext,
  ): Promise<void> {
    const link = context.getSession();
    const member = this.federation.speaker(link, command.args.user, 'FEDSAY');
    if (!member) return;
    const { channel, message } = command.args;
    if (message === '' || !(await this.channels.say(member, channel, message)))
      this.federation.answer(link, member, 'SAY', false);
  }

  // FEDRECV <touser> <fromuser> <channel>:<channelhost> <message…>
  @Verb('FEDRECV', { fields: ['to', 'from', 'channel'], rest: 'message', ...ON_LINK })
  fedRecv(
    @Payload() command: Command<{ to: string; from: string; channel: string; message: string }>,
    @Ctx() context: LineContext,
  ): void {
    const { to, from, channel, message } = command.args;
    this.federation.fromChannelServer.recv(context.getSession(), to, from, channel, message);
  }

  // FEDCAST <fromuser> <channel>:<channelhost> <message…>   (only on a link that negotiated `cast`)
  @Verb('FEDCAST', { fields: ['from', 'channel'], rest: 'message', ...ON_LINK })
  fedCast(@Payload() command: Command<{ from: string; channel: string; message: string }>, @Ctx() context: LineContext): void {
    const { from, channel, message } = command.args;
    this.federation.fromChannelServer.cast(context.getSession(), from, channel, message);
  }

  // FEDRESULT <user> <TYPE> …
  @Verb('FEDRESULT', { fields: ['user', 'type'], rest: 'detail', restMayBeEmpty: true, ...ON_LINK })
  fedResult(@Payload() command: Command<{ user: string; type: string; detail: string }>, @Ctx() context: LineContext): void {
    const { user, type, detail } = command.args;
    this.federation.fromChannelServer.result(context.getSession(), user, type, detail);
  }

  @EventPattern(SESSION_CLOSED)
  sessionClosed(@Ctx() context: LineContext): void {
    const session = context.getSession();
    this.links.closed(session);
    this.federation.sessionClosed(session);
  }
}
