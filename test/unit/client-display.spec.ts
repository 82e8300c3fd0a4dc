import { PassThrough } from 'node:stream';
import { describeServerLine, displayChannel, displayUser, visible } from '../../src/client/display';
import { Style } from '../../src/client/style';

const plain = new Style(false);
const colour = new Style(true);
const NOW = new Date(2026, 0, 2, 3, 4, 5); // local time 03:04:05
const ANSI = /\x1b\[[0-9;]*m/g;
const strip = (text: string): string => text.replace(ANSI, '');
const hasAnsi = (text: string): boolean => /\x1b\[[0-9;]*m/.test(text);

/** Marks each styled part, so tests can see which pieces are styled apart without depending on ANSI. */
class MarkedStyle extends Style {
  constructor() {
    super(true);
  }
  override time(text: string): string {
    return `[time:${text}]`;
  }
  override channel(text: string): string {
    return `[channel:${text}]`;
  }
  override user(text: string): string {
    return `[user:${text}]`;
  }
  override host(text: string): string {
    return `[host:${text}]`;
  }
  override ok(text: string): string {
    return `[ok:${text}]`;
  }
  override failure(text: string): string {
    return `[failure:${text}]`;
  }
}
const marked = new MarkedStyle();

describe('describeServerLine: RECV', () => {
  it('shows the local time, #channel, <user> and the message', () => {
    expect(describeServerLine('RECV bob alpha hello', plain, NOW)).toBe('03:04:05 #alpha <bob> hello');
  });

  it('keeps the message byte for byte, double spaces included', () => {
    expect(describeServerLine('RECV bob alpha hello  world', plain, NOW)).toBe('03:04:05 #alpha <bob> hello  world');
  });

  it('keeps leading and trailing spaces of the message', () => {
    expect(describeServerLine('RECV bob alpha  hi ', plain, NOW)).toBe('03:04:05 #alpha <bob>  hi ');
  });

  it('shows a federated sender and channel with their hosts', () => {
    expect(describeServerLine('RECV bob@server1.com helloworld:server2.com hi', plain, NOW)).toBe(
      '03:04:05 #helloworld:server2.com <bob@server1.com> hi',
    );
  });

  it('shows CJK and emoji names and messages unchanged', () => {
    expect(describeServerLine('RECV 太郎 日本語 こんにちは 😀', plain, NOW)).toBe('03:04:05 #日本語 <太郎> こんにちは 😀');
  });

  it('pads hours, minutes and seconds to two digits', () => {
    expect(describeServerLine('RECV bob alpha x', plain, new Date(2026, 0, 2, 23, 59, 9))).toBe('23:59:09 #alpha <bob> x');
  });

  it('ignores a pending command', () => {
    expect(describeServerLine('RECV bob alpha hi', plain, NOW, { verb: 'SAY', subject: 'beta' })).toBe(
      '03:04:05 #alpha <bob> hi',
    );
  });

  it.each(['RECV bob alpha', 'RECV bob', 'RECV '])('returns the malformed line "%s" unchanged', (line) => {
    expect(describeServerLine(line, plain, NOW)).toBe(line);
  });
});

describe('describeServerLine: RESULT CHANNELS', () => {
  it('says there are no channels yet for an empty list', () => {
    expect(describeServerLine('RESULT CHANNELS ', plain, NOW)).toBe('no channels yet — /create <channel> makes one');
  });

  it('lists the channels with # and separated by spaces', () => {
    expect(describeServerLine('RESULT CHANNELS a, b:host', plain, NOW)).toBe('channels: #a #b:host');
  });

  it('lists a single channel', () => {
    expect(describeServerLine('RESULT CHANNELS alpha', plain, NOW)).toBe('channels: #alpha');
  });

  it('lists a channel whose name ends in 0 or 1 as a channel, not as a failure flag', () => {
    expect(describeServerLine('RESULT CHANNELS CHANNEL1, channel1', plain, NOW)).toBe('channels: #CHANNEL1 #channel1');
  });

  it('keeps a host that contains a port', () => {
    expect(describeServerLine('RESULT CHANNELS hw:127.0.0.1:4401', plain, NOW)).toBe('channels: #hw:127.0.0.1:4401');
  });
});

describe('describeServerLine: RESULT REGISTER', () => {
  it('says who was registered, from the pending command, and suggests /login', () => {
    expect(describeServerLine('RESULT REGISTER 1', plain, NOW, { verb: 'REGISTER', subject: 'bob' })).toBe(
      'registered bob — now /login bob',
    );
  });

  it('says registered without a name when no command is pending', () => {
    expect(describeServerLine('RESULT REGISTER 1', plain, NOW)).toBe('registered — now /login');
  });

  it('says who could not be registered and why', () => {
    expect(describeServerLine('RESULT REGISTER 0', plain, NOW, { verb: 'REGISTER', subject: 'bob' })).toBe(
      'could not register bob: the name is taken, or the name or password is not allowed',
    );
  });

  it('gives the reason of a failed registration even without a pending command', () => {
    expect(describeServerLine('RESULT REGISTER 0', plain, NOW)).toBe(
      'could not register: the name is taken, or the name or password is not allowed',
    );
  });
});

describe('describeServerLine: RESULT LOGIN', () => {
  it('says as whom the user logged in, from the pending command', () => {
    expect(describeServerLine('RESULT LOGIN 1', plain, NOW, { verb: 'LOGIN', subject: 'bob' })).toBe('logged in as bob');
  });

  it('says logged in without a name when no command is pending', () => {
    expect(describeServerLine('RESULT LOGIN 1', plain, NOW)).toBe('logged in');
  });

  it('says who could not log in and why', () => {
    expect(describeServerLine('RESULT LOGIN 0', plain, NOW, { verb: 'LOGIN', subject: 'bob' })).toBe(
      'could not log in as bob: wrong user or password, or that user or this connection is already logged in',
    );
  });
});

describe('describeServerLine: RESULT CREATE', () => {
  it('says which channel was created, from the echoed name, and suggests /join', () => {
    expect(describeServerLine('RESULT CREATE alpha 1', plain, NOW)).toBe('created alpha — /join alpha to enter it');
  });

  it('prefers the echoed channel over the pending one', () => {
    expect(describeServerLine('RESULT CREATE alpha 1', plain, NOW, { verb: 'CREATE', subject: 'beta' })).toBe(
      'created alpha — /join alpha to enter it',
    );
  });

  it('says which channel could not be created and why', () => {
    expect(describeServerLine('RESULT CREATE alpha 0', plain, NOW)).toBe(
      'could not create alpha: it exists already or the name is not allowed, or you are not logged in',
    );
  });

  it('explains `RESULT CREATE 0` (no channel echoed) without a dangling space', () => {
    expect(describeServerLine('RESULT CREATE 0', plain, NOW)).toBe(
      'could not create: it exists already or the name is not allowed, or you are not logged in',
    );
  });

  it('takes the channel of `RESULT CREATE 0` from the pending command', () => {
    expect(describeServerLine('RESULT CREATE 0', plain, NOW, { verb: 'CREATE', subject: 'alpha' })).toBe(
      'could not create alpha: it exists already or the name is not allowed, or you are not logged in',
    );
  });
});

describe('describeServerLine: RESULT JOIN', () => {
  it('says which channel was joined, from the echoed name, and suggests /switch', () => {
    expect(describeServerLine('RESULT JOIN alpha 1', plain, NOW)).toBe('joined alpha — /switch alpha to talk there');
  });

  it('says which federated channel was joined', () => {
    expect(describeServerLine('RESULT JOIN helloworld:server2.com 1', plain, NOW)).toBe(
      'joined helloworld:server2.com — /switch helloworld:server2.com to talk there',
    );
  });

  it('says which channel could not be joined and why', () => {
    expect(describeServerLine('RESULT JOIN alpha 0', plain, NOW)).toBe(
      'could not join alpha: no such channel, or already a member, or you are not logged in',
    );
  });

  it('explains `RESULT JOIN 0` (no channel echoed) without a dangling space', () => {
    expect(describeServerLine('RESULT JOIN 0', plain, NOW)).toBe(
      'could not join: no such channel, or already a member, or you are not logged in',
    );
  });
});

describe('describeServerLine: RESULT SAY', () => {
  it('says to which channel a message could not be sent, from the pending command, and why', () => {
    expect(describeServerLine('RESULT SAY 0', plain, NOW, { verb: 'SAY', subject: 'alpha' })).toBe(
      'could not send to alpha: no such channel, or not a member, or you are not logged in',
    );
  });

  it('explains a failed SAY without a pending command', () => {
    expect(describeServerLine('RESULT SAY 0', plain, NOW)).toBe(
      'could not send: no such channel, or not a member, or you are not logged in',
    );
  });
});

describe('describeServerLine: other lines', () => {
  it('says an unknown verb succeeded in lower case', () => {
    expect(describeServerLine('RESULT PING 1', plain, NOW)).toBe('ping done');
  });

  it('includes the echoed subject of an unknown verb that succeeded', () => {
    expect(describeServerLine('RESULT PING x 1', plain, NOW)).toBe('ping x done');
  });

  it('says an unknown verb failed, with no reason', () => {
    expect(describeServerLine('RESULT PING 0', plain, NOW)).toBe('PING failed');
  });

  it.each([
    'hello there',
    'RESULT',
    'RESULT LOGIN',
    'RESULT LOGIN 2',
    'RESULT CHANNELS',
    'FEDRECV bob bob helloworld:server2.com hi',
    '',
  ])('returns the non-protocol line "%s" as it is', (line) => {
    expect(describeServerLine(line, plain, NOW)).toBe(line);
  });
});

describe('describeServerLine with colours', () => {
  const lines: Array<[string, string | undefined]> = [
    ['RECV bob alpha hello  world', undefined],
    ['RECV bob@server1.com helloworld:server2.com hi', undefined],
    ['RESULT CHANNELS a, b:host', undefined],
    ['RESULT REGISTER 1', 'bob'],
    ['RESULT LOGIN 0', 'bob'],
    ['RESULT CREATE alpha 1', undefined],
    ['RESULT JOIN alpha 0', undefined],
    ['RESULT SAY 0', 'alpha'],
  ];

  it.each(lines)('styles "%s" with ANSI escapes', (line, subject) => {
    const pending = subject ? { verb: line.split(' ')[1], subject } : undefined;
    expect(hasAnsi(describeServerLine(line, colour, NOW, pending))).toBe(true);
  });

  it.each(lines)('shows "%s" as the plain text once the escapes are removed', (line, subject) => {
    const pending = subject ? { verb: line.split(' ')[1], subject } : undefined;
    expect(strip(describeServerLine(line, colour, NOW, pending))).toBe(describeServerLine(line, plain, NOW, pending));
  });

  it('styles time, channel, host, user and host of a federated RECV apart, and leaves the message unstyled', () => {
    expect(describeServerLine('RECV bob@server1.com helloworld:server2.com hi  all', marked, NOW)).toBe(
      '[time:03:04:05] [channel:#helloworld][host::server2.com] <[user:bob][host:@server1.com]> hi  all',
    );
  });

  it('styles a success as ok and a failure as failure', () => {
    expect(describeServerLine('RESULT JOIN alpha 1', marked, NOW)).toBe('[ok:joined alpha — /switch alpha to talk there]');
    expect(describeServerLine('RESULT SAY 0', marked, NOW)).toBe(
      '[failure:could not send: no such channel, or not a member, or you are not logged in]',
    );
  });

  it('leaves a non-protocol line unstyled', () => {
    expect(describeServerLine('hello', colour, NOW)).toBe('hello');
  });
});

describe('displayUser', () => {
  it('shows a local user as it is', () => {
    expect(displayUser('bob', plain)).toBe('bob');
  });

  it('shows a federated user as user@host in plain text', () => {
    expect(displayUser('bob@server1.com', plain)).toBe('bob@server1.com');
  });

  it('styles the @host part apart from the user name', () => {
    expect(displayUser('bob@server1.com', marked)).toBe('[user:bob][host:@server1.com]');
  });

  it('splits at the first @ only', () => {
    expect(displayUser('bob@a@b', marked)).toBe('[user:bob][host:@a@b]');
  });

  it('treats a name starting with @ as a local name', () => {
    expect(displayUser('@host', marked)).toBe('[user:@host]');
  });

  it('colours a federated user differently from its plain text', () => {
    expect(displayUser('bob@server1.com', colour)).not.toBe('bob@server1.com');
  });

  it('colours the host apart: the colour output is not the whole name in the user colour', () => {
    const output = displayUser('bob@server1.com', colour);
    expect(output).toBe(`${colour.user('bob')}${colour.host('@server1.com')}`);
    expect(output).not.toBe(colour.user('bob@server1.com'));
  });

  it('shows the plain text once the colour escapes are removed', () => {
    expect(strip(displayUser('bob@server1.com', colour))).toBe('bob@server1.com');
  });
});

describe('displayChannel', () => {
  it('shows a local channel as #name', () => {
    expect(displayChannel('alpha', plain)).toBe('#alpha');
  });

  it('shows a federated channel as #name:host in plain text', () => {
    expect(displayChannel('helloworld:server2.com', plain)).toBe('#helloworld:server2.com');
  });

  it('styles the :host part apart from #name', () => {
    expect(displayChannel('helloworld:server2.com', marked)).toBe('[channel:#helloworld][host::server2.com]');
  });

  it('splits at the first colon, so a host with a port stays whole', () => {
    expect(displayChannel('hw:127.0.0.1:4401', marked)).toBe('[channel:#hw][host::127.0.0.1:4401]');
  });

  it('treats a name starting with a colon as a local name', () => {
    expect(displayChannel(':x', marked)).toBe('[channel:#:x]');
  });

  it('colours a federated channel differently from its plain text', () => {
    expect(displayChannel('helloworld:server2.com', colour)).not.toBe('#helloworld:server2.com');
  });

  it('colours the host apart: the colour output is not the whole name in the channel colour', () => {
    const output = displayChannel('helloworld:server2.com', colour);
    expect(output).toBe(`${colour.channel('#helloworld')}${colour.host(':server2.com')}`);
    expect(output).not.toBe(colour.channel('#helloworld:server2.com'));
  });

  it('shows the plain text once the colour escapes are removed', () => {
    expect(strip(displayChannel('helloworld:server2.com', colour))).toBe('#helloworld:server2.com');
  });
});

describe('Style', () => {
  const kinds = ['time', 'channel', 'user', 'host', 'ok', 'failure', 'notice'] as const;

  it.each(kinds)('new Style(false).%s returns the text unchanged', (kind) => {
    expect(plain[kind]('text')).toBe('text');
  });

  it.each(kinds)('new Style(true).%s wraps the text in ANSI escapes', (kind) => {
    const output = colour[kind]('text');
    expect(hasAnsi(output)).toBe(true);
    expect(strip(output)).toBe('text');
  });

  it('new Style(true) colours even when process.stdout is not a terminal (the choice is made by Style.for)', () => {
    const stdout = process.stdout as NodeJS.WriteStream & { isTTY: boolean };
    const saved = stdout.isTTY;
    try {
      stdout.isTTY = false;
      expect(hasAnsi(new Style(true).ok('text'))).toBe(true);
    } finally {
      stdout.isTTY = saved;
    }
  });
});

describe('Style.for', () => {
  function stream(isTTY: boolean | undefined, hasColors: boolean | undefined): NodeJS.WritableStream {
    const out = new PassThrough() as PassThrough & { isTTY?: boolean; hasColors?: () => boolean };
    if (isTTY !== undefined) out.isTTY = isTTY;
    if (hasColors !== undefined) out.hasColors = () => hasColors;
    return out;
  }

  it('colours a TTY that has colours when NO_COLOR is not set', () => {
    expect(Style.for(stream(true, true), {}).colors).toBe(true);
  });

  it('does not colour when NO_COLOR is set', () => {
    expect(Style.for(stream(true, true), { NO_COLOR: '1' }).colors).toBe(false);
  });

  it('colours when NO_COLOR is set but empty (no-color.org: only a non-empty value disables)', () => {
    expect(Style.for(stream(true, true), { NO_COLOR: '' }).colors).toBe(true);
  });

  it('does not colour a stream that is not a TTY', () => {
    expect(Style.for(stream(false, true), {}).colors).toBe(false);
  });

  it('does not colour a stream without isTTY', () => {
    expect(Style.for(stream(undefined, true), {}).colors).toBe(false);
  });

  it('does not colour a TTY without colours', () => {
    expect(Style.for(stream(true, false), {}).colors).toBe(false);
  });

  it('does not colour a TTY without hasColors()', () => {
    expect(Style.for(stream(true, undefined), {}).colors).toBe(false);
  });

  it('gives a Style whose output is plain when it does not colour', () => {
    expect(Style.for(stream(false, false), {}).ok('text')).toBe('text');
  });
});

describe('describeServerLine when logged in', () => {
  it('leaves "not logged in" out of the reasons for a failed JOIN', () => {
    expect(describeServerLine('RESULT JOIN alpha 0', plain, NOW, undefined, true)).toBe(
      'could not join alpha: no such channel, or already a member',
    );
  });

  it('leaves "not logged in" out of the reasons for a failed SAY', () => {
    expect(describeServerLine('RESULT SAY 0', plain, NOW, { verb: 'SAY', subject: 'alpha' }, true)).toBe(
      'could not send to alpha: no such channel, or not a member',
    );
  });
});

describe('control characters from the server', () => {
  it('shows an escape sequence in a message as visible symbols, not as a terminal command', () => {
    expect(describeServerLine('RECV eve alpha \u001b[2Jgone', plain, NOW)).toBe('03:04:05 #alpha <eve> \u241b[2Jgone');
  });

  it('shows DEL as ␡ and a C1 control as �', () => {
    expect(visible('a\u007fb\u009bc')).toBe('a\u2421b\ufffdc');
  });

  it('leaves ordinary text, CJK and emoji alone', () => {
    expect(visible('hello 日本語 😀')).toBe('hello 日本語 😀');
  });
});
