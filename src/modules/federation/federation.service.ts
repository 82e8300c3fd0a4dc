import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { SETTINGS, Settings } from '../../config/settings';
import { isValidChannelName, isValidUserName } from '../../domain/names';
import { parseChannelRef, parseUserRef, Qualified } from '../../domain/qualified-names';
import { Reply } from '../../transport/replies';
import { Session } from '../../transport/session';
import { ChannelEvents, MessagePosted } from '../channels/channel-events';
import { ChannelsService } from '../channels/channels.service';
import { RemoteChannels } from '../channels/remote-channels';
import { Presence } from '../presence/presence';
import { SHARED_LINKS } from './federation-tokens';
import { LinkEvents, PeerLinks } from './peer-links';
import { ForwardedIn, SharedLinks } from './shared-links';

/** A line sent over this instance's own link: nothing to wait for. */
const SENT = Promise.resolve();

interface PendingJoin {
  readonly settle: (joined: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

/** A remote SAY whose outcome (the sender's own FEDRECV, or FEDRESULT … SAY 0) has not come yet. */
interface PendingSay {
  readonly host: string;
  readonly channel: string;
  readonly message: string;
  readonly settle: () => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Channels of other servers, as the channels module sees them (`RemoteChannels`): their names for
 * CHANNELS, JOIN and SAY on behalf of local users. And, from the channels' events, FEDNEW to every
 * peer and FEDRECV to members on other servers.
 *
 * On an instance of a cluster, lines go to a peer only from the instance relaying to it; the
 * others hand theirs over the bus (`SharedLinks.forwardOut`). A FEDRECV or FEDRESULT for a user
 * or a request of another instance goes over the bus to every instance, and the one that has the
 * user or the request acts on it. What peers announce of their channels is shared the same way.
 */
@Injectable()
export class Federation implements OnModuleInit, LinkEvents, RemoteChannels {
  private readonly log = new Logger('Federation');
  private readonly remoteChannels = new Map<string, Set<string>>();
  private readonly pendingJoins = new Map<string, PendingJoin>();
  /** By the sender's session, oldest first; only sessions that can be held open have entries. */
  private readonly pendingSays = new Map<Session, PendingSay[]>();

  constructor(
    private readonly links: PeerLinks,
    private readonly presence: Presence,
    @Inject(SETTINGS) private readonly settings: Settings,
    private readonly channels: ChannelsService,
    private readonly channelEvents: ChannelEvents,
    @Inject(SHARED_LINKS) private readonly shared: SharedLinks | null,
  ) {}

  async onModuleInit(): Promise<void> {
    this.links.listen(this);
    this.channels.useRemoteChannels(this);
    this.channelEvents.on('channelCreated', ({ channel }) => this.announce(channel));
    this.channelEvents.on('messagePosted', (posted) => this.relay(posted));
    await this.shared?.start({
      out: (host, reply) => this.links.relayLinkTo(host)?.send(reply),
      in: (forwarded) => this.forwardedIn(forwarded),
      channels: (host, names) => this.remoteChannels.set(host, new Set(names)),
    });
  }

  /** Every known channel of other servers, as `<name>:<host>`. */
  names(): string[] {
    const names: string[] = [];
    for (const [host, channels] of this.remoteChannels) for (const name of channels) names.push(`${name}:${host}`);
    return names;
  }

  /** JOIN <channel>:<host> for a local user: FEDJOIN, then waits for FEDRESULT or the timeout. */
  join(user: string, channel: Qualified): Promise<boolean> {
    const send = this.sender(channel.host);
    const key = this.joinKey(user, channel);
    if (!send || this.pendingJoins.has(key)) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => this.settleJoin(key, false), this.settings.federation.requestTimeoutMs);
      this.pendingJoins.set(key, { settle: resolve, timer });
      send(Reply.fedJoin(`${user}@${this.links.hostname}`, channel.name)).catch(() => this.settleJoin(key, false));
    });
  }

  /**
   * SAY <channel>:<host> for a local user: false at once when the link is down. Otherwise the
   * outcome comes later, so the sender's session is held open for it (up to the request timeout).
   */
  say(user: string, channel: Qualified, message: string): boolean | Promise<boolean> {
    const send = this.sender(channel.host);
    if (!send) return false;
    const sent = send(Reply.fedSay(`${user}@${this.links.hostname}`, channel.name, message));
    const session = this.presence.sessionOf(user);
    const hold = () => session?.awaitSettled(this.awaitSay(session, channel, message));
    if (sent === SENT) {
      hold();
      return true;
    }
    return sent.then(
      () => {
        hold();
        return true;
      },
      () => false,
    );
  }

  /**
   * How a line reaches the server `host`: over this instance's relaying link, or (on an instance
   * of a cluster) handed to the instance relaying to it. Undefined when no instance has a link.
   */
  private sender(host: string): ((reply: Reply) => Promise<void>) | undefined {
    const link = this.links.relayLinkTo(host);
    if (link) {
      return (reply) => {
        link.send(reply);
        return SENT;
      };
    }
    const shared = this.shared;
    if (!shared?.relayed(host)) return undefined;
    return (reply) => shared.forwardOut(host, reply);
  }

  /** FEDNEW to every peer when a local channel is created. */
  announce(channel: string): void {
    const reply = Reply.fedNew(channel);
    for (const link of this.links.relayLinks()) link.send(reply);
  }

  /** A message in a local channel: one FEDRECV per member on another server, names written as that server sees them. */
  relay({ channel, from, message, members }: MessagePosted): void {
    for (const user of members) {
      const member = parseUserRef(user);
      const link = member && this.links.relayLinkTo(member.host);
      if (!member || !link) continue;
      link.send(Reply.fedRecv(member.name, this.nameFor(from, member.host), this.qualified(channel), message));
    }
  }

  linkUp(link: Session): void {
    link.send(Reply.fedChannels(this.channels.localNames()));
  }

  linkDown(peer: string): void {
    for (const [key, pending] of this.pendingJoins) {
      if (key.endsWith(`\n${peer}`)) {
        clearTimeout(pending.timer);
        this.pendingJoins.delete(key);
        pending.settle(false);
      }
    }
    // Whether those messages arrived cannot be known any more: the senders are released, told nothing.
    for (const [session, says] of this.pendingSays) {
      for (const say of says.filter((pending) => pending.host === peer)) this.settleSay(session, say);
    }
  }

  /** A connection closed: nothing it was owed can reach it any more. */
  sessionClosed(session: Session): void {
    const says = this.pendingSays.get(session);
    if (!says) return;
    this.pendingSays.delete(session);
    for (const say of says) {
      clearTimeout(say.timer);
      say.settle();
    }
  }

  /** FEDCHANNELS: the peer's own channels, replacing what was known of them. */
  peerChannels(link: Session, list: string): void {
    const names = list
      .split(',')
      .map((name) => name.trim())
      .filter(isValidChannelName);
    this.remoteChannels.set(link.peer as string, new Set(names));
    this.shareChannels(link.peer as string);
  }

  /** FEDNEW: a channel the peer just created. */
  peerCreated(link: Session, channel: string): void {
    if (!isValidChannelName(channel)) return;
    const known = this.remoteChannels.get(link.peer as string) ?? new Set<string>();
    known.add(channel);
    this.remoteChannels.set(link.peer as string, known);
    this.shareChannels(link.peer as string);
  }

  /** On an instance of a cluster, what a peer announced is stored and told to the other instances. */
  private shareChannels(peer: string): void {
    const names = [...(this.remoteChannels.get(peer) ?? [])];
    this.shared?.shareChannels(peer, names).catch((error: Error) => {
      this.log.warn(`the channels of ${peer} could not be shared with the other instances: ${error.message}`);
    });
  }

  /** FEDRESULT <user> JOIN <channel>:<host> 1|0, or FEDRESULT <user> SAY 0. */
  peerResult(link: Pick<Session, 'id' | 'peer'>, user: string, type: string, detail: string, forwarded = false): void {
    if (type === 'JOIN') {
      const match = /^(\S+) ([01])$/.exec(detail);
      const channel = match && parseChannelRef(match[1]);
      if (!match || !channel || channel.host !== link.peer) return this.refuse(link, `FEDRESULT ${user} JOIN ${detail}`);
      const key = this.joinKey(user, channel);
      if (this.pendingJoins.has(key)) this.settleJoin(key, match[2] === '1');
      else if (!forwarded) this.forwardIn(link, { line: 'FEDRESULT', args: [user, type, detail] });
    } else if (type === 'SAY' && detail === '0') {
      const session = this.presence.sessionOf(user);
      if (!session) {
        if (!forwarded) this.forwardIn(link, { line: 'FEDRESULT', args: [user, type, detail] });
        return;
      }
      session.send(Reply.result('SAY', false));
      // The refusal names no channel: it answers the oldest SAY the user has waiting on that server.
      const say = this.pendingSays.get(session)?.find((pending) => pending.host === link.peer);
      if (say) this.settleSay(session, say);
    }
  }

  /** FEDRECV <touser> <fromuser> <channel>:<channelhost> <message…>, accepted only from the channel's own server. */
  peerRecv(
    link: Pick<Session, 'id' | 'peer'>,
    to: string,
    from: string,
    channel: string,
    message: string,
    forwarded = false,
  ): void {
    const ref = parseChannelRef(channel);
    if (!ref || ref.host !== link.peer) return this.refuse(link, `FEDRECV for ${channel}`);
    // Only to a user of this server: a peer cannot have us relay a line onward to a third one.
    if (to.includes('@')) return;
    if (!this.presence.sessionOf(to)) {
      if (!forwarded) this.forwardIn(link, { line: 'FEDRECV', args: [to, from, channel, message] });
      return;
    }
    this.presence.deliver([to], Reply.recv(from, channel, message));
    // A sender's own RECV confirms its SAY.
    if (to === from && this.pendingSays.size > 0) this.confirmSay(to, ref, message);
  }

  /**
   * The remote user of a FEDJOIN or FEDSAY, as `name@host`, when the link may speak for it: a
   * peer speaks only for users of its own host.
   */
  speaker(link: Session, user: string): string | undefined {
    const ref = parseUserRef(user);
    if (!ref || ref.host !== link.peer || !isValidUserName(ref.name)) {
      this.refuse(link, `a request for ${user}`);
      return undefined;
    }
    return user;
  }

  /** FEDRESULT to a remote user's server, the user written bare (it is local there). */
  answer(link: Session, user: string, verb: 'JOIN' | 'SAY', ok: boolean, channel?: string): void {
    const name = parseUserRef(user)?.name ?? user;
    link.send(Reply.fedResult(name, verb, ok, channel));
  }

  /** `<channel>:<this server>`, as another server sees a local channel. */
  qualified(channel: string): string {
    return `${channel}:${this.links.hostname}`;
  }

  /** On an instance of a cluster: a line from a peer for a user or request of another instance. */
  private forwardIn(link: Pick<Session, 'id' | 'peer'>, line: Omit<ForwardedIn, 'peer'>): void {
    this.shared?.forwardIn({ peer: link.peer as string, ...line }).catch((error: Error) => {
      this.log.warn(`${link.id} could not hand a ${line.line} from ${link.peer} to the other instances: ${error.message}`);
    });
  }

  /** A line another instance received from a peer, for whichever instance it concerns. */
  private forwardedIn({ peer, line, args }: ForwardedIn): void {
    const link = { id: `bus:${peer}`, peer };
    if (line === 'FEDRESULT') this.peerResult(link, args[0], args[1], args[2], true);
    else this.peerRecv(link, args[0], args[1], args[2], args[3], true);
  }

  private refuse(link: Pick<Session, 'id' | 'peer'>, what: string): void {
    this.log.warn(`${link.id} refused ${what} from ${link.peer}: not that server's to send`);
  }

  /** A name as the server `host` sees it: bare when the user lives there, qualified otherwise. */
  private nameFor(user: string, host: string): string {
    const ref = parseUserRef(user);
    if (!ref) return `${user}@${this.links.hostname}`;
    return ref.host === host ? ref.name : user;
  }

  private joinKey(user: string, channel: Qualified): string {
    return `${user}\n${channel.name}\n${channel.host}`;
  }

  private awaitSay(session: Session, channel: Qualified, message: string): Promise<void> {
    return new Promise<void>((settle) => {
      const say: PendingSay = {
        host: channel.host,
        channel: channel.name,
        message,
        settle,
        timer: setTimeout(() => this.settleSay(session, say), this.settings.federation.requestTimeoutMs),
      };
      const says = this.pendingSays.get(session);
      if (says) says.push(say);
      else this.pendingSays.set(session, [say]);
    });
  }

  private confirmSay(user: string, channel: Qualified, message: string): void {
    const session = this.presence.sessionOf(user);
    const says = session && this.pendingSays.get(session);
    const say = says?.find(
      (pending) => pending.host === channel.host && pending.channel === channel.name && pending.message === message,
    );
    if (say) this.settleSay(session as Session, say);
  }

  private settleSay(session: Session, say: PendingSay): void {
    const says = this.pendingSays.get(session);
    const index = says ? says.indexOf(say) : -1;
    if (!says || index === -1) return;
    says.splice(index, 1);
    if (says.length === 0) this.pendingSays.delete(session);
    clearTimeout(say.timer);
    say.settle();
  }

  private settleJoin(key: string, joined: boolean): void {
    const pending = this.pendingJoins.get(key);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pendingJoins.delete(key);
    pending.settle(joined);
  }
}
