import { Style } from './style';

/** A command the client sent and whose RESULT it is waiting for. */
export interface PendingCommand {
  readonly verb: string;
  /** The user of REGISTER/LOGIN, the channel of CREATE/JOIN/SAY. */
  readonly subject?: string;
}

const FAILURE_REASONS: Record<string, string> = {
  REGISTER: 'the name is taken, or the name or password is not allowed',
  LOGIN: 'wrong user or password, or that user or this connection is already logged in',
  CREATE: 'it exists already or the name is not allowed',
  JOIN: 'no such channel, or already a member',
  SAY: 'no such channel, or not a member',
};

/** Commands that fail for a connection that is not logged in. */
const NEED_LOGIN = new Set(['CREATE', 'JOIN', 'SAY']);

// C0 controls, DEL and C1 controls; shown as visible symbols so a message cannot drive the terminal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Makes control characters visible: ESC becomes ␛, DEL ␡, C1 controls �. */
export function visible(text: string): string {
  return text.replace(CONTROL, (char) => {
    const code = char.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    return code === 0x7f ? '\u2421' : '\ufffd';
  });
}

/** `bob@server1.com` → bob with the host shown apart; a local name stays as it is. */
export function displayUser(name: string, style: Style): string {
  const at = name.indexOf('@');
  if (at <= 0) return style.user(name);
  return `${style.user(name.slice(0, at))}${style.host(`@${name.slice(at + 1)}`)}`;
}

/** `helloworld:server2.com` → #helloworld with the host shown apart. */
export function displayChannel(name: string, style: Style): string {
  const colon = name.indexOf(':');
  if (colon <= 0) return style.channel(`#${name}`);
  return `${style.channel(`#${name.slice(0, colon)}`)}${style.host(`:${name.slice(colon + 1)}`)}`;
}

function clock(now: Date): string {
  return [now.getHours(), now.getMinutes(), now.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':');
}

/** `RECV <user> <channel> <message…>` as `12:01:02 #channel <user> message`. */
function describeRecv(rest: string, style: Style, now: Date): string | undefined {
  const first = rest.indexOf(' ');
  const second = first === -1 ? -1 : rest.indexOf(' ', first + 1);
  if (second === -1) return undefined;
  const from = rest.slice(0, first);
  const channel = rest.slice(first + 1, second);
  const message = rest.slice(second + 1);
  return `${style.time(clock(now))} ${displayChannel(channel, style)} <${displayUser(from, style)}> ${message}`;
}

function describeChannels(list: string, style: Style): string {
  if (list === '') return 'no channels yet — /create <channel> makes one';
  const names = list.split(', ').map((name) => displayChannel(name, style));
  return `channels: ${names.join(' ')}`;
}

function describeResult(verb: string, ok: boolean, subject: string | undefined, style: Style, loggedIn: boolean): string {
  const what = subject ?? '';
  if (ok) {
    switch (verb) {
      case 'REGISTER':
        return style.ok(`registered${what ? ` ${what}` : ''} — now /login${what ? ` ${what}` : ''}`);
      case 'LOGIN':
        return style.ok(`logged in${what ? ` as ${what}` : ''}`);
      case 'CREATE':
        return style.ok(`created ${what} — /join ${what} to enter it`);
      case 'JOIN':
        return style.ok(`joined ${what} — /switch ${what} to talk there`);
      default:
        return style.ok(`${verb.toLowerCase()} ${what} done`.replace(/\s+/g, ' ').trim());
    }
  }
  const action: Record<string, string> = {
    REGISTER: `could not register${what ? ` ${what}` : ''}`,
    LOGIN: `could not log in${what ? ` as ${what}` : ''}`,
    CREATE: `could not create ${what}`.trim(),
    JOIN: `could not join ${what}`.trim(),
    SAY: `could not send${what ? ` to ${what}` : ''}`,
  };
  const reasons = [FAILURE_REASONS[verb], !loggedIn && NEED_LOGIN.has(verb) ? 'you are not logged in' : undefined];
  const reason = reasons.filter(Boolean).join(', or ');
  return style.failure(`${action[verb] ?? `${verb} failed`}${reason ? `: ${reason}` : ''}`);
}

/**
 * One server line in plain language, with control characters made visible. `pending` is the
 * command the line answers, when known, so `RESULT LOGIN 1` can say who logged in; `loggedIn`
 * leaves "you are not logged in" out of the reasons a failure may have.
 */
export function describeServerLine(line: string, style: Style, now: Date, pending?: PendingCommand, loggedIn = false): string {
  return describeVisibleLine(visible(line), style, now, pending, loggedIn);
}

function describeVisibleLine(
  line: string,
  style: Style,
  now: Date,
  pending: PendingCommand | undefined,
  loggedIn: boolean,
): string {
  if (line.startsWith('RECV ')) return describeRecv(line.slice(5), style, now) ?? line;
  if (line.startsWith('RESULT CHANNELS ')) return describeChannels(line.slice('RESULT CHANNELS '.length), style);
  const result = /^RESULT (\S+)(?: (.+))? ([01])$/.exec(line);
  if (!result) return line;
  const [, verb, echoed, flag] = result;
  return describeResult(verb, flag === '1', echoed ?? pending?.subject, style, loggedIn);
}
