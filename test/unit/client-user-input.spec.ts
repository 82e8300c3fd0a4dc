import { HELP, interpret, pendingFor } from '../../src/client/user-input';

describe('interpret: blank lines', () => {
  it.each([
    ['an empty line', ''],
    ['a line of spaces', '   '],
    ['a line of tabs and spaces', ' \t '],
    ['a lone CR', '\r'],
  ])('does nothing for %s', (_name, input) => {
    expect(interpret(input, 'alpha')).toEqual({ kind: 'nothing' });
  });
});

describe('interpret: /register and /login', () => {
  it('turns /register <user> into a REGISTER credentials request for that user', () => {
    expect(interpret('/register bob', undefined)).toEqual({ kind: 'credentials', verb: 'REGISTER', user: 'bob' });
  });

  it('turns /login <user> into a LOGIN credentials request for that user', () => {
    expect(interpret('/login bob', undefined)).toEqual({ kind: 'credentials', verb: 'LOGIN', user: 'bob' });
  });

  it('keeps the case of the user name', () => {
    expect(interpret('/login Bob', undefined)).toEqual({ kind: 'credentials', verb: 'LOGIN', user: 'Bob' });
  });

  it('ignores spaces around the single user argument', () => {
    expect(interpret('/login   bob  ', undefined)).toEqual({ kind: 'credentials', verb: 'LOGIN', user: 'bob' });
  });

  it.each(['register', 'login'])('answers /%s without a user with its usage', (name) => {
    expect(interpret(`/${name}`, undefined)).toEqual({ kind: 'problem', message: `usage: /${name} <user>` });
  });

  it.each(['register', 'login'])('answers /%s with two words (user and password) with its usage', (name) => {
    expect(interpret(`/${name} bob hunter2`, undefined)).toEqual({ kind: 'problem', message: `usage: /${name} <user>` });
  });
});

describe('interpret: /create and /join', () => {
  it('sends CREATE <channel> and waits for the CREATE result of that channel', () => {
    expect(interpret('/create alpha', undefined)).toEqual({
      kind: 'send',
      line: 'CREATE alpha',
      pending: { verb: 'CREATE', subject: 'alpha' },
    });
  });

  it('sends JOIN <channel> and waits for the JOIN result of that channel', () => {
    expect(interpret('/join alpha', undefined)).toEqual({
      kind: 'send',
      line: 'JOIN alpha',
      pending: { verb: 'JOIN', subject: 'alpha' },
    });
  });

  it('sends a federated channel name channel:host unchanged', () => {
    expect(interpret('/join helloworld:server2.com', undefined)).toEqual({
      kind: 'send',
      line: 'JOIN helloworld:server2.com',
      pending: { verb: 'JOIN', subject: 'helloworld:server2.com' },
    });
  });

  it.each(['create', 'join'])('answers /%s without a channel with its usage', (name) => {
    expect(interpret(`/${name}`, undefined)).toEqual({ kind: 'problem', message: `usage: /${name} <channel>` });
  });

  it.each(['create', 'join'])('answers /%s with two channels with its usage', (name) => {
    expect(interpret(`/${name} alpha beta`, undefined)).toEqual({ kind: 'problem', message: `usage: /${name} <channel>` });
  });
});

describe('interpret: /channels', () => {
  it('sends CHANNELS without a pending command', () => {
    const action = interpret('/channels', undefined);
    expect(action).toEqual({ kind: 'send', line: 'CHANNELS' });
    expect(action.kind === 'send' && action.pending).toBeFalsy();
  });
});

describe('interpret: /say', () => {
  it('sends SAY <channel> <message> and waits for a SAY result of that channel', () => {
    expect(interpret('/say alpha hello', undefined)).toEqual({
      kind: 'send',
      line: 'SAY alpha hello',
      pending: { verb: 'SAY', subject: 'alpha' },
    });
  });

  it('keeps the spaces inside the message', () => {
    expect(interpret('/say alpha hello   big  world', undefined)).toMatchObject({
      kind: 'send',
      line: 'SAY alpha hello   big  world',
    });
  });

  it('keeps the spaces at the end of the message (PROTOCOL §1: trailing spaces are part of the message)', () => {
    expect(interpret('/say alpha hello  ', undefined)).toMatchObject({ kind: 'send', line: 'SAY alpha hello  ' });
  });

  it('sends to the named channel, not to the current one', () => {
    expect(interpret('/say beta hi', 'alpha')).toMatchObject({ kind: 'send', line: 'SAY beta hi' });
  });

  it('answers /say with a channel but no message with its usage', () => {
    expect(interpret('/say alpha', 'alpha')).toEqual({ kind: 'problem', message: 'usage: /say <channel> <message>' });
  });

  it('sends a message made only of spaces as it is: the protocol accepts any non-empty message', () => {
    expect(interpret('/say alpha   ', 'alpha')).toEqual({
      kind: 'send',
      line: 'SAY alpha   ',
      pending: { verb: 'SAY', subject: 'alpha' },
    });
  });

  it('answers /say with a channel and one trailing space with its usage', () => {
    expect(interpret('/say alpha ', 'alpha')).toEqual({ kind: 'problem', message: 'usage: /say <channel> <message>' });
  });

  it('answers /say with nothing after it with its usage', () => {
    expect(interpret('/say', 'alpha')).toEqual({ kind: 'problem', message: 'usage: /say <channel> <message>' });
  });
});

describe('interpret: /switch', () => {
  it('switches to the named channel', () => {
    expect(interpret('/switch alpha', undefined)).toEqual({ kind: 'switch', channel: 'alpha' });
  });

  it('switches to a federated channel', () => {
    expect(interpret('/switch helloworld:server2.com', 'alpha')).toEqual({
      kind: 'switch',
      channel: 'helloworld:server2.com',
    });
  });

  it('answers /switch without a channel, when none is chosen, with its usage', () => {
    expect(interpret('/switch', undefined)).toEqual({ kind: 'problem', message: 'usage: /switch <channel>' });
  });

  it('answers /switch without a channel by naming the current channel', () => {
    const action = interpret('/switch', 'alpha');
    expect(action.kind).toBe('problem');
    expect(action.kind === 'problem' && action.message).toContain('alpha');
    expect(action.kind === 'problem' && action.message).toContain('usage: /switch <channel>');
  });

  it('answers /switch with two channels with a problem', () => {
    expect(interpret('/switch alpha beta', undefined)).toEqual({ kind: 'problem', message: 'usage: /switch <channel>' });
  });
});

describe('interpret: /raw', () => {
  it('sends the rest of the line as it is, paired with its protocol command', () => {
    expect(interpret('/raw JOIN alpha', undefined)).toEqual({
      kind: 'send',
      line: 'JOIN alpha',
      pending: { verb: 'JOIN', subject: 'alpha' },
    });
  });

  it('sends a non-protocol line without a pending command', () => {
    const action = interpret('/raw hello there', undefined);
    expect(action).toEqual({ kind: 'send', line: 'hello there' });
    expect(action.kind === 'send' && action.pending).toBeFalsy();
  });

  it('keeps the spaces inside the line', () => {
    expect(interpret('/raw SAY alpha a  b', undefined)).toMatchObject({ kind: 'send', line: 'SAY alpha a  b' });
  });

  it('keeps trailing spaces, so `SAY alpha ` can be sent as the protocol spells it', () => {
    expect(interpret('/raw SAY alpha ', undefined)).toMatchObject({ kind: 'send', line: 'SAY alpha ' });
  });

  it('answers /raw without a line with its usage', () => {
    expect(interpret('/raw', undefined)).toEqual({ kind: 'problem', message: 'usage: /raw <line>' });
  });

  it('answers /raw followed only by spaces with its usage', () => {
    expect(interpret('/raw   ', undefined)).toEqual({ kind: 'problem', message: 'usage: /raw <line>' });
  });
});

describe('interpret: /help, /quit, /exit and unknown commands', () => {
  it('asks for help on /help', () => {
    expect(interpret('/help', 'alpha')).toEqual({ kind: 'help' });
  });

  it('quits on /quit', () => {
    expect(interpret('/quit', 'alpha')).toEqual({ kind: 'quit' });
  });

  it('quits on /exit', () => {
    expect(interpret('/exit', 'alpha')).toEqual({ kind: 'quit' });
  });

  it('answers an unknown /word with a problem naming it and pointing to /help', () => {
    const action = interpret('/x', 'alpha');
    expect(action.kind).toBe('problem');
    expect(action.kind === 'problem' && action.message).toContain('/x');
    expect(action.kind === 'problem' && action.message).toContain('/help');
  });

  it('does not send an unknown /word to the current channel', () => {
    expect(interpret('/shrug me', 'alpha').kind).toBe('problem');
  });
});

describe('interpret: case of slash commands', () => {
  it('reads /JOIN like /join', () => {
    expect(interpret('/JOIN alpha', undefined)).toEqual({
      kind: 'send',
      line: 'JOIN alpha',
      pending: { verb: 'JOIN', subject: 'alpha' },
    });
  });

  it('reads /Quit like /quit', () => {
    expect(interpret('/Quit', undefined)).toEqual({ kind: 'quit' });
  });

  it('reads /LOGIN like /login and keeps the case of the user', () => {
    expect(interpret('/LOGIN Bob', undefined)).toEqual({ kind: 'credentials', verb: 'LOGIN', user: 'Bob' });
  });

  it('keeps the case of the channel argument', () => {
    expect(interpret('/Create Alpha', undefined)).toMatchObject({ line: 'CREATE Alpha' });
  });
});

describe('interpret: protocol lines typed directly', () => {
  it.each([
    ['REGISTER bob hunter2', { verb: 'REGISTER', subject: 'bob' }],
    ['LOGIN bob hunter2', { verb: 'LOGIN', subject: 'bob' }],
    ['CREATE alpha', { verb: 'CREATE', subject: 'alpha' }],
    ['JOIN helloworld:server2.com', { verb: 'JOIN', subject: 'helloworld:server2.com' }],
    ['SAY alpha hi  all', { verb: 'SAY', subject: 'alpha' }],
  ])('sends "%s" as it is with its pending command', (line, pending) => {
    expect(interpret(line, 'beta')).toEqual({ kind: 'send', line, pending });
  });

  it('sends CHANNELS as it is without a pending command', () => {
    const action = interpret('CHANNELS', 'beta');
    expect(action).toEqual({ kind: 'send', line: 'CHANNELS' });
    expect(action.kind === 'send' && action.pending).toBeFalsy();
  });

  it('sends a protocol line even when no channel is chosen', () => {
    expect(interpret('JOIN alpha', undefined)).toMatchObject({ kind: 'send', line: 'JOIN alpha' });
  });

  it('treats a lower-case protocol word as chat text for the current channel', () => {
    expect(interpret('join alpha', 'beta')).toMatchObject({ kind: 'send', line: 'SAY beta join alpha' });
  });

  it('treats a protocol word glued to more letters as chat text', () => {
    expect(interpret('SAYING hi', 'beta')).toMatchObject({ kind: 'send', line: 'SAY beta SAYING hi' });
  });
});

describe('interpret: plain text', () => {
  it('sends plain text to the current channel as SAY <channel> <text>', () => {
    expect(interpret('hello world', 'alpha')).toEqual({
      kind: 'send',
      line: 'SAY alpha hello world',
      pending: { verb: 'SAY', subject: 'alpha' },
    });
  });

  it('keeps inner and trailing spaces of plain text', () => {
    expect(interpret('a  b  ', 'alpha')).toMatchObject({ line: 'SAY alpha a  b  ' });
  });

  it('sends plain text to a federated current channel', () => {
    expect(interpret('hi all', 'helloworld:server2.com')).toMatchObject({
      line: 'SAY helloworld:server2.com hi all',
      pending: { verb: 'SAY', subject: 'helloworld:server2.com' },
    });
  });

  it('turns //text into a message that starts with a single /', () => {
    expect(interpret('//join is a command', 'alpha')).toMatchObject({ kind: 'send', line: 'SAY alpha /join is a command' });
  });

  it('turns a lone // into the message /', () => {
    expect(interpret('//', 'alpha')).toMatchObject({ kind: 'send', line: 'SAY alpha /' });
  });

  it('answers plain text without a current channel with a problem pointing to /switch', () => {
    const action = interpret('hello', undefined);
    expect(action.kind).toBe('problem');
    expect(action.kind === 'problem' && action.message).toContain('/switch');
  });

  it('answers //text without a current channel with a problem', () => {
    expect(interpret('//hello', undefined).kind).toBe('problem');
  });
});

describe('interpret: line endings', () => {
  it('removes a trailing CR from plain text', () => {
    expect(interpret('hello\r', 'alpha')).toMatchObject({ line: 'SAY alpha hello' });
  });

  it('removes a trailing CR from a slash command argument', () => {
    expect(interpret('/join alpha\r', undefined)).toMatchObject({ line: 'JOIN alpha', pending: { subject: 'alpha' } });
  });

  it('removes a trailing CR after a bare slash command', () => {
    expect(interpret('/quit\r', undefined)).toEqual({ kind: 'quit' });
  });

  it('removes a trailing CR from a protocol line', () => {
    expect(interpret('CHANNELS\r', undefined)).toMatchObject({ kind: 'send', line: 'CHANNELS' });
  });

  it('removes only the last CR', () => {
    expect(interpret('a\r\r', 'alpha')).toMatchObject({ line: 'SAY alpha a\r' });
  });
});

describe('pendingFor', () => {
  it.each([
    ['REGISTER bob hunter2', 'REGISTER', 'bob'],
    ['LOGIN bob hunter2', 'LOGIN', 'bob'],
  ])('pairs "%s" with %s and the user as subject', (line, verb, subject) => {
    expect(pendingFor(line)).toEqual({ verb, subject });
  });

  it.each([
    ['CREATE alpha', 'CREATE', 'alpha'],
    ['JOIN helloworld:server2.com', 'JOIN', 'helloworld:server2.com'],
    ['SAY alpha hi there', 'SAY', 'alpha'],
  ])('pairs "%s" with %s and the channel as subject', (line, verb, subject) => {
    expect(pendingFor(line)).toEqual({ verb, subject });
  });

  it('has no subject for a protocol word without argument', () => {
    expect(pendingFor('JOIN')).toEqual({ verb: 'JOIN', subject: undefined });
  });

  it('has no pending command for CHANNELS (it never fails and needs no pairing)', () => {
    expect(pendingFor('CHANNELS')).toBeUndefined();
  });

  it.each(['HELLO world', 'join alpha', 'FEDJOIN bob@server1.com helloworld', ''])(
    'has no pending command for the non-protocol line "%s"',
    (line) => {
      expect(pendingFor(line)).toBeUndefined();
    },
  );
});

describe('HELP', () => {
  it.each(['/register', '/login', '/create', '/join', '/switch', '/say', '/channels', '/raw', '/help', '/quit', '/exit'])(
    'mentions %s',
    (command) => {
      expect(HELP).toContain(command);
    },
  );

  it('names every way to quit that the client accepts', () => {
    expect(HELP).toMatch(/\/quit or \/exit .*Ctrl-D on an empty line and Ctrl-C/);
    expect(interpret('/quit', undefined)).toEqual({ kind: 'quit' });
    expect(interpret('/exit', undefined)).toEqual({ kind: 'quit' });
  });

  it('mentions // for a message starting with /', () => {
    expect(HELP).toContain('//');
  });

  it('names every protocol word that is sent as it is', () => {
    for (const verb of ['REGISTER', 'LOGIN', 'CREATE', 'JOIN', 'SAY', 'CHANNELS']) expect(HELP).toContain(verb);
  });
});
