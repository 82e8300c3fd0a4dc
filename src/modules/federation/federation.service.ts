import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SETTINGS, Settings } from '../../config/settings';
import { SETTINGS_RELOAD, SettingsReload } from '../../config/settings-reload';
import { DerivedFromMembers } from '../../domain/member-set';
import { isValidUserName } from '../../domain/names';
import { parseUserRef, Qualified } from '../../domain/qualified-names';
import { Reply } from '../../transport/replies';
import { Session } from '../../transport/session';
import { ChannelEvents, MessagePosted } from '../channels/channel-events';
import { ChannelsService } from '../channels/channels.service';
import { RemoteChannels } from '../channels/remote-channels';
import { Presence } from '../presence/presence';
import { ChannelServerLines, Via } from './channel-server-lines';
import { SHARED_LINKS } from './federation-tokens';
import { PeerChannels } from './peer-channels';
import { LinkEvents, PeerLinks } from './peer-links';
import { PendingRequests } from './pending-requests';
import { Refusals } from './refusals';
import { RemoteChannelMembers } from './remote-channel-members';
import { RemoteChannelMembership } from './remote-channel-membership.entity';
import { ForwardedIn, SharedLinks } from './shared-links';

/** A line sent over this instance's own link: nothing to wait for. */
const SENT = Promise.resolve();

/** The capability that lets one FEDCAST stand for a FEDRECV to each member on the receiving server. */
const CAST = 'cast';

/**
 * Channels of other servers, as the channels module sees them (`RemoteChannels`): their names for
 * CHANNELS, JOIN and SAY on behalf of local users. And, from the channels' events, FEDNEW to every
 * peer, and a message of a local channel to the servers of its remote members (one FEDCAST per
 * server over a link that negotiated `cast`, else one FEDRECV per member).
 *
 * What channel servers send back (FEDRESULT, FEDRECV, FEDCAST) is checked by `ChannelServerLines`
 * against the requests waiting here (`PendingRequests`) and the local users' memberships of
 * remote channels (`RemoteChannelMembers`).
 *
 * On an instance of a cluster, lines go to a peer only from the instance relaying to it; the
 * others hand theirs over the bus (`SharedLinks.forwardOut`). Lines from a peer for users or
 * requests of other instances, what peers announce of their channels and the memberships learned
 * go over the bus to every instance.
 */
@Injectable()
export class Federation implements OnModuleInit, LinkEvents, RemoteChannels {
  private readonly log = new Logger('Federation');
  private readonly refusals = new Refusals(this.log);
  private readonly peerChannels: PeerChannels;
  private readonly pending: PendingRequests;
  private readonly members: RemoteChannelMembers;
  /** A local channel's members of other servers, by server; kept until the channel's members change. */
  private readonly remoteMembers = new DerivedFromMembers(byHost);
  /** FEDRESULT, FEDRECV and FEDCAST, from the channels' servers. */
  readonly fromChannelServer: ChannelServerLines;

  constructor(
    private readonly links: PeerLinks,
    private readonly presence: Presence,
    @Inject(SETTINGS) private readonly settings: Settings,
    private readonly channels: ChannelsService,
    private readonly channelEvents: ChannelEvents,
    @Inject(SHARED_LINKS) private readonly shared: SharedLinks | null,
    @Optional() dataSource?: DataSource,
    @Optional() @Inject(SETTINGS_RELOAD) reload?: SettingsReload,
  ) {
    this.peerChannels = new PeerChannels(settings);
    reload?.onReload((_settings, changed) => {
      if (changed.includes('federation.peers')) this.peerChannels.reconfigure();
    });
    this.pending = new PendingRequests(() => settings.federation.requestTimeoutMs);
    this.members = new RemoteChannelMembers(dataSource?.getRepository(RemoteChannelMembership), shared, this.log);
    this.fromChannelServer = new ChannelServerLines(
      settings.hostname,
      presence,
      this.pending,
      this.members,
      this.refusals,
      shared,
      this.log,
    );
  }

  async onModuleInit(): Promise<void> {
    this.links.listen(this);
    this.channels.useRemoteChannels(this);
    this.channelEvents.on('channelCreated', ({ channel }) => this.announce(channel));
    this.channelEvents.on('messagePosted', (posted) => this.relay(posted));
    await this.members.load();
    await this.shared?.start({
      out: (host, reply) => this.links.relayLinkTo(host)?.send(reply),
      in: (forwarded, origin) => this.forwardedIn(forwarded, origin),
      channels: (host, names) => this.sharedChannels(host, names),
      member: (user, channel) => this.members.learned(user, channel),
    });
  }

  /** Every known channel of other servers, as `<name>:<host>`. */
  names(): string[] {
    return this.peerChannels.names();
  }

  /** JOIN <channel>:<host> for a local user: FEDJOIN, then waits for FEDRESULT or the timeout. */
  join(user: string, channel: Qualified): Promise<boolean> {
    const send = this.sender(channel.host);
    const waiting = send && this.pending.join(user, channel);
    if (!send || !waiting) return Promise.resolve(false);
    send(Reply.fedJoin(`${user}@${this.links.hostname}`, channel.name)).catch(() => {
      const answer = this.pending.takeJoin(user, channel);
      if (typeof answer === 'function') answer(false);
    });
    return waiting;
  }

  /**
   * SAY <channel>:<host> for a local user: false at once when the link is down. Otherwise the
   * outcome comes later, so the SAY is recorded (to match its outcome and its echoes) and the
   * sender's session is held open for it, up to the request timeout.
   */
  say(user: string, channel: Qualified, message: string): boolean | Promise<boolean> {
    const send = this.sender(channel.host);
    if (!send) return false;
    const session = this.presence.sessionOf(user);
    const say = this.pending.say(user, channel, message, session);
    session?.awaitSettled(say.settled);
    const sent = send(Reply.fedSay(`${user}@${this.links.hostname}`, channel.name, message));
    if (sent === SENT) return true;
    return sent.then(
      () => true,
      () => {
        this.pending.forget(say);
        return false;
      },
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

  /**
   * A message in a local channel, to each server with members in it, names written as that server
   * sees them: one FEDCAST when its link negotiated `cast`, else one FEDRECV per member.
   */
  relay({ channel, from, message, members }: MessagePosted): void {
    for (const [host, names] of this.remoteMembers.of(members)) {
      const link = this.links.relayLinkTo(host);
      if (!link) continue;
      const sender = this.nameFor(from, host);
      if (link.features?.has(CAST)) link.send(Reply.fedCast(sender, this.qualified(channel), message));
      else for (const name of names) link.send(Reply.fedRecv(name, sender, this.qualified(channel), message));
    }
  }

  linkUp(link: Session): void {
    link.send(Reply.fedChannels(this.channels.localNames()));
  }

  linkDown(peer: string): void {
    this.pending.failJoinsTo(peer);
    this.pending.forgetSaysTo(peer);
  }

  /** A connection closed: nothing it was owed can reach it any more. */
  sessionClosed(session: Session): void {
    this.pending.sessionClosed(session);
    if (session.role === 'link') this.refusals.linkClosed(session);
  }

  /** FEDCHANNELS: the peer's own channels, replacing what was known of them (the first `channelsPerPeer`). */
  peerChannelList(link: Session, list: string): void {
    const peer = link.peer as string;
    const over = this.peerChannels.replace(
      peer,
      list.split(',').map((name) => name.trim()),
    );
    if (over > 0) {
      this.refusals.refuse(
        link,
        'FEDCHANNELS',
        `${over} channels of FEDCHANNELS`,
        `over limits.channelsPerPeer (${this.peerChannels.cap})`,
      );
    }
    this.shareChannels(peer);
  }

  /** FEDNEW: a channel the peer just created. */
  peerCreated(link: Session, channel: string): void {
    const peer = link.peer as string;
    const added = this.peerChannels.add(peer, channel);
    if (added === 'full') {
      this.refusals.refuse(
        link,
        'FEDNEW',
        'FEDNEW',
        `the peer has limits.channelsPerPeer (${this.peerChannels.cap}) channels already`,
      );
    }
    if (added === 'added') this.shareChannels(peer);
  }

  /** On an instance of a cluster, what a peer announced is stored and told to the other instances. */
  private shareChannels(peer: string): void {
    this.shared?.shareChannels(peer, this.peerChannels.of(peer)).catch((error: Error) => {
      this.log.warn(`the channels of ${peer} could not be shared with the other instances: ${error.message}`);
    });
  }

  /** A peer's channels from another instance (or Redis at start): only for configured peers, capped like a link's. */
  private sharedChannels(peer: string, names: readonly string[]): void {
    if (!this.peerChannels.isConfigured(peer) || !Array.isArray(names)) {
      this.log.warn(`ignored the channels of ${JSON.stringify(peer)} from the cluster: not a configured peer`);
      return;
    }
    this.peerChannels.replace(
      peer,
      names.filter((name) => typeof name === 'string'),
    );
  }

  /**
   * The remote user of a FEDJOIN or FEDSAY, as `name@host`, when the link may speak for it: a
   * peer speaks only for users of its own host.
   */
  speaker(link: Session, user: string, kind: 'FEDJOIN' | 'FEDSAY'): string | undefined {
    const ref = parseUserRef(user);
    if (!ref || ref.host !== link.peer || !isValidUserName(ref.name)) {
      this.refusals.refuse(link, kind, `a request for ${user}`, 'not that server’s to send');
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

  /** FEDRESULT from the link `link` (see `ChannelServerLines.result`). */
  peerResult(link: Session, user: string, type: string, detail: string): void {
    this.fromChannelServer.result(link, user, type, detail);
  }

  /** FEDRECV from the link `link` (see `ChannelServerLines.recv`). */
  peerRecv(link: Session, to: string, from: string, channel: string, message: string): void {
    this.fromChannelServer.recv(link, to, from, channel, message);
  }

  /** A line another instance received from a peer, for whichever instance it concerns. */
  private forwardedIn({ peer, line, args, vouched }: ForwardedIn, origin: string): void {
    if (origin === this.shared?.instanceId) return;
    const link = { id: `bus:${peer}`, peer };
    const via: Via = vouched ? 'vouched' : 'bus';
    if (line === 'FEDRESULT') this.fromChannelServer.result(link, args[0], args[1], args[2], via);
    else if (line === 'FEDRECV') this.fromChannelServer.recv(link, args[0], args[1], args[2], args[3], via);
    else if (line === 'FEDCAST') this.fromChannelServer.cast(link, args[0], args[1], args[2], via);
  }

  /** A name as the server `host` sees it: bare when the user lives there, qualified otherwise. */
  private nameFor(user: string, host: string): string {
    const ref = parseUserRef(user);
    if (!ref) return `${user}@${this.links.hostname}`;
    return ref.host === host ? ref.name : user;
  }
}

/** The names of other servers' users (`name@host`) among `members`, bare, by server. */
function byHost(members: Iterable<string>): ReadonlyMap<string, readonly string[]> {
  const hosts = new Map<string, string[]>();
  for (const user of members) {
    const member = parseUserRef(user);
    if (!member) continue;
    const names = hosts.get(member.host);
    if (names) names.push(member.name);
    else hosts.set(member.host, [member.name]);
  }
  return hosts;
}
