import { Logger } from '@nestjs/common';
import { isValidChannelName, isValidHostname, isValidUserName } from '../../domain/names';
import { parseChannelRef, parseUserRef, Qualified } from '../../domain/qualified-names';
import { Reply } from '../../transport/replies';
import { Session } from '../../transport/session';
import { Presence } from '../presence/presence';
import { PendingRequests } from './pending-requests';
import { Refusals } from './refusals';
import { RemoteChannelMembers } from './remote-channel-members';
import { ForwardedIn, SharedLinks } from './shared-links';

export type PeerLink = Pick<Session, 'id' | 'peer' | 'features'>;

/**
 * Where a line comes from: the peer's link; another instance's bus event; or one whose sender,
 * written bare, another instance checked against that user's pending SAY (`vouched`).
 */
export type Via = 'link' | 'bus' | 'vouched';

interface Sender {
  /** As the receiving users see it: bare for a user of this server, else `name@host`. */
  readonly shown: string;
  readonly local: boolean;
}

/**
 * The lines a channel's server sends the server of its members: FEDRESULT, FEDRECV and FEDCAST.
 * Each is checked against this server's state: a FEDRESULT must answer a request waiting on that
 * peer, a FEDRECV or FEDCAST must be for a member of that peer's channel, and a sender written
 * bare (a user of this server) must be the echo of that user's own pending SAY. Anything else is
 * refused and logged (summarized), with no effect.
 *
 * On an instance of a cluster, what this instance cannot decide or deliver goes over the bus; the
 * instance with the user or the request acts on it, and a refusal only seen there is not logged.
 */
export class ChannelServerLines {
  constructor(
    private readonly hostname: string,
    private readonly presence: Presence,
    private readonly pending: PendingRequests,
    private readonly members: RemoteChannelMembers,
    private readonly refusals: Refusals,
    private readonly shared: SharedLinks | null,
    private readonly log: Logger,
  ) {}

  /** FEDRESULT <user> JOIN <channel>[:<host>] 0|1, FEDRESULT <user> SAY 0, FEDRESULT <user> SAY <channel> 0|1 … */
  result(link: PeerLink, userField: string, type: string, detail: string, via: Via = 'link'): void {
    const user = this.localUser(userField);
    const forward = { line: 'FEDRESULT', args: [userField, type, detail] } as const;
    if (user === undefined) return this.refuse(link, 'FEDRESULT', `FEDRESULT for ${userField}`, 'not a user of this server');
    if (type === 'JOIN') return this.joinResult(link, user, detail, forward, via);
    if (type !== 'SAY') return this.refuse(link, 'FEDRESULT', `FEDRESULT ${user} ${type}`, 'not an answer this server asks for');
    const match = detail === '0' ? undefined : /^(\S+) ([01])(?: .*)?$/.exec(detail);
    const channel = match ? this.channelOf(link, match[1]) : undefined;
    if (detail !== '0' && !channel)
      return this.refuse(link, 'FEDRESULT', `FEDRESULT ${user} SAY`, 'malformed, or not that server’s channel');
    const say = this.pending.answerSay(user, link.peer as string, channel?.name);
    if (!say) return this.unmatched(link, forward, via, `FEDRESULT ${user} SAY`, `no SAY of ${user} to that server is waiting`);
    if (channel && match?.[2] === '1') {
      this.pending.confirm(say);
      void this.members.add(user, channel);
      return;
    }
    this.pending.forget(say);
    say.session?.send(Reply.result('SAY', false));
  }

  /** FEDRECV <touser> <fromuser> <channel>:<channelhost> <message…> */
  recv(link: PeerLink, toField: string, fromField: string, channelField: string, message: string, via: Via = 'link'): void {
    const channel = this.channelOf(link, channelField);
    if (!channel) return this.refuse(link, 'FEDRECV', `FEDRECV for ${channelField}`, 'not that server’s channel');
    const to = this.localUser(toField);
    // Only to a user of this server: a peer cannot have us relay a line onward to a third one.
    if (to === undefined) return;
    const from = this.sender(link, 'FEDRECV', fromField);
    if (!from) return;
    const named = `${channel.name}:${channel.host}`;
    const forward = (vouched: boolean) =>
      this.forwardIn(link, { line: 'FEDRECV', args: [to, from.shown, named, message], vouched });
    let vouchedHere = false;
    if (from.local && via !== 'vouched') {
      if (!this.pending.echo(from.shown, channel, message, to === from.shown)) {
        if (via === 'link' && this.shared) return forward(false);
        if (via === 'link') this.refuse(link, 'FEDRECV', `FEDRECV from ${from.shown}`, `${from.shown} has no such SAY waiting`);
        return;
      }
      vouchedHere = true;
      // The echo of a user's own SAY confirms its membership (one older than this server's record of it).
      if (to === from.shown) void this.members.add(to, channel);
    }
    if ((via === 'link' || vouchedHere) && !this.members.has(to, channel)) {
      return this.refuse(link, 'FEDRECV', `FEDRECV for ${to} in ${named}`, `${to} is not a member through that server`);
    }
    if (this.presence.sessionOf(to)) this.presence.deliver([to], Reply.recv(from.shown, named, message));
    else if (via === 'link' || vouchedHere) forward(vouchedHere);
  }

  /** FEDCAST <fromuser> <channel>:<channelhost> <message…>: one message for every local member of that channel. */
  cast(link: PeerLink, fromField: string, channelField: string, message: string, via: Via = 'link'): void {
    if (via === 'link' && !link.features?.has('cast')) {
      return this.refuse(link, 'FEDCAST', `FEDCAST for ${channelField}`, 'the link did not negotiate cast');
    }
    const channel = this.channelOf(link, channelField);
    if (!channel) return this.refuse(link, 'FEDCAST', `FEDCAST for ${channelField}`, 'not that server’s channel');
    const from = this.sender(link, 'FEDCAST', fromField);
    if (!from) return;
    const named = `${channel.name}:${channel.host}`;
    const forward = (vouched: boolean) => this.forwardIn(link, { line: 'FEDCAST', args: [from.shown, named, message], vouched });
    let vouchedHere = false;
    if (from.local && via !== 'vouched') {
      if (!this.pending.echo(from.shown, channel, message, true)) {
        if (via === 'link' && this.shared) return forward(false);
        if (via === 'link') this.refuse(link, 'FEDCAST', `FEDCAST from ${from.shown}`, `${from.shown} has no such SAY waiting`);
        return;
      }
      vouchedHere = true;
      void this.members.add(from.shown, channel);
    }
    this.presence.deliver(this.members.of(channel), Reply.recv(from.shown, named, message));
    if (via === 'link' || vouchedHere) forward(vouchedHere);
  }

  private joinResult(link: PeerLink, user: string, detail: string, forward: Omit<ForwardedIn, 'peer'>, via: Via): void {
    const match = /^(\S+) ([01])$/.exec(detail);
    const channel = match ? this.channelOf(link, match[1]) : undefined;
    if (!match || !channel)
      return this.refuse(link, 'FEDRESULT', `FEDRESULT ${user} JOIN ${detail}`, 'not that server’s to send');
    const joined = match[2] === '1';
    const answer = this.pending.takeJoin(user, channel);
    if (!answer) return this.unmatched(link, forward, via, `FEDRESULT ${user} JOIN ${detail}`, 'no such JOIN is waiting');
    // The membership is known on every instance before the client hears of it.
    const stored = joined ? this.members.add(user, channel) : Promise.resolve();
    if (answer !== 'late') void stored.then(() => answer(joined));
  }

  /** A line that answers nothing waiting here: on a cluster another instance may have it. */
  private unmatched(link: PeerLink, forward: Omit<ForwardedIn, 'peer'>, via: Via, what: string, why: string): void {
    if (via !== 'link') return;
    if (this.shared) this.forwardIn(link, forward);
    else this.refuse(link, 'FEDRESULT', what, why);
  }

  /** `<channel>:<the link's peer>`; a bare channel means the peer's. */
  private channelOf(link: PeerLink, field: string): Qualified | undefined {
    const ref = parseChannelRef(field) ?? { name: field, host: link.peer as string };
    return ref.host === link.peer && isValidChannelName(ref.name) ? ref : undefined;
  }

  /** A user of this server: bare, or written `name@<this server>`. */
  private localUser(field: string): string | undefined {
    const ref = parseUserRef(field);
    if (!ref) return field.includes('@') ? undefined : field;
    return ref.host === this.hostname ? ref.name : undefined;
  }

  private sender(link: PeerLink, kind: string, field: string): Sender | undefined {
    const ref = parseUserRef(field);
    if (ref && ref.host !== this.hostname && isValidUserName(ref.name) && isValidHostname(ref.host))
      return { shown: field, local: false };
    const name = ref ? (ref.host === this.hostname ? ref.name : '') : field;
    if (isValidUserName(name)) return { shown: name, local: true };
    this.refuse(link, kind, `${kind} with an invalid sender`, 'not a user name');
    return undefined;
  }

  private forwardIn(link: PeerLink, line: Omit<ForwardedIn, 'peer'>): void {
    this.shared?.forwardIn({ peer: link.peer as string, ...line }).catch((error: Error) => {
      this.log.warn(`${link.id} could not hand a ${line.line} from ${link.peer} to the other instances: ${error.message}`);
    });
  }

  private refuse(link: PeerLink, kind: string, what: string, why: string): void {
    this.refusals.refuse(link, kind, what, why);
  }
}
