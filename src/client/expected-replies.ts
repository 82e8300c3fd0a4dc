import { visible } from './display';

/**
 * The answer a sent command waits for (docs/PROTOCOL.md §2). `label` names the command in messages
 * and never holds a password.
 */
export type ExpectedReply =
  | { readonly verb: 'REGISTER' | 'CREATE' | 'JOIN' | 'CHANNELS'; readonly label: string }
  | { readonly verb: 'LOGIN'; readonly label: string; readonly user: string }
  | { readonly verb: 'SAY'; readonly label: string; readonly channel: string; readonly message: string };

const LABEL_LIMIT = 40;

function label(text: string): string {
  const characters = [...visible(text)];
  return characters.length <= LABEL_LIMIT ? characters.join('') : `${characters.slice(0, LABEL_LIMIT).join('')}…`;
}

/** `SAY <channel> <message…>`: the message is everything after the space that follows the channel. */
function expectedSay(line: string, rest: string): ExpectedReply {
  const space = rest.indexOf(' ');
  const channel = space === -1 ? rest : rest.slice(0, space);
  const message = space === -1 ? '' : rest.slice(space + 1);
  return { verb: 'SAY', label: label(line), channel, message };
}

/** What the server answers to `line`, or undefined when it answers nothing (unknown or lower-case verbs, blank lines). */
export function expectedReplyTo(line: string): ExpectedReply | undefined {
  const space = line.indexOf(' ');
  const verb = space === -1 ? line : line.slice(0, space);
  const rest = space === -1 ? '' : line.slice(space + 1);
  const user = rest.split(' ')[0];
  switch (verb) {
    case 'REGISTER':
      return { verb, label: label(user ? `REGISTER ${user}` : 'REGISTER') };
    case 'LOGIN':
      return { verb, label: label(user ? `LOGIN ${user}` : 'LOGIN'), user };
    case 'CREATE':
    case 'JOIN':
    case 'CHANNELS':
      return { verb, label: label(line) };
    case 'SAY':
      return expectedSay(line, rest);
    default:
      return undefined;
  }
}

/** `<name>:<host>` split at the first `:` (docs/PROTOCOL.md §6.5); undefined for a local name. */
function localPartOf(channel: string): string | undefined {
  const colon = channel.indexOf(':');
  return colon > 0 && colon < channel.length - 1 ? channel.slice(0, colon) : undefined;
}

/** A SAY to `<channel>:<host>` is answered when the other server replies, possibly after later commands. */
export function mayBeOvertaken(expected: ExpectedReply): boolean {
  return expected.verb === 'SAY' && localPartOf(expected.channel) !== undefined;
}

/** The sender's own RECV; a channel qualified with this server's own hostname comes back bare. */
function isOwnRecv(say: { channel: string; message: string }, line: string, me: string): boolean {
  const names = [say.channel, localPartOf(say.channel)].filter((name) => name !== undefined);
  return names.some((channel) => line === `RECV ${me} ${channel} ${say.message}`);
}

/** Whether `line` answers `expected`; `me` is the user this connection is logged in as, if any. */
export function settles(expected: ExpectedReply, line: string, me: string | undefined): boolean {
  switch (expected.verb) {
    case 'SAY':
      return line === 'RESULT SAY 0' || (me !== undefined && isOwnRecv(expected, line, me));
    case 'CHANNELS':
      return line.startsWith('RESULT CHANNELS ');
    default:
      return new RegExp(`^RESULT ${expected.verb}(?: .*)? [01]$`).test(line);
  }
}

/**
 * The answers a connection is owed, oldest first. The server answers each connection's commands
 * in order, so a line can only settle the oldest owed answer, or a SAY to another server's
 * channel that is still waiting ahead of it.
 */
export class OwedReplies {
  private readonly owed: ExpectedReply[] = [];
  private me?: string;

  /** Records what `line` waits for, if anything. */
  sent(line: string): void {
    const expected = expectedReplyTo(line);
    if (expected) this.owed.push(expected);
  }

  /** Settles the owed answer `line` is, if it is one; true when it did. */
  received(line: string): boolean {
    const index = this.indexSettledBy(line);
    if (index === -1) return false;
    const [answered] = this.owed.splice(index, 1);
    if (answered.verb === 'LOGIN' && line === 'RESULT LOGIN 1') this.me = answered.user;
    return true;
  }

  get isEmpty(): boolean {
    return this.owed.length === 0;
  }

  /** The user a LOGIN of ours logged in as. */
  get user(): string | undefined {
    return this.me;
  }

  /** The unanswered commands, oldest first: `LOGIN bob, SAY general hello`. */
  describe(): string {
    return this.owed.map((expected) => expected.label).join(', ');
  }

  /** The answer next in command order takes the line first; a late remote SAY answer only if it does not fit. */
  private indexSettledBy(line: string): number {
    const next = this.owed.findIndex((expected) => !mayBeOvertaken(expected));
    if (next !== -1 && settles(this.owed[next], line, this.me)) return next;
    const waiting = next === -1 ? this.owed : this.owed.slice(0, next);
    return waiting.findIndex((expected) => settles(expected, line, this.me));
  }
}
