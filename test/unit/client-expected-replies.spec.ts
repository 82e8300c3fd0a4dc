import { expectedReplyTo, mayBeOvertaken, OwedReplies, settles } from '../../src/client/expected-replies';

function owedAfter(sent: string[], received: string[] = []): OwedReplies {
  const owed = new OwedReplies();
  for (const line of sent) owed.sent(line);
  for (const line of received) owed.received(line);
  return owed;
}

describe('expectedReplyTo', () => {
  it.each([
    ['REGISTER bob pw', { verb: 'REGISTER', label: 'REGISTER bob' }],
    ['LOGIN bob pw', { verb: 'LOGIN', label: 'LOGIN bob', user: 'bob' }],
    ['CREATE general', { verb: 'CREATE', label: 'CREATE general' }],
    ['JOIN helloworld:server2.com', { verb: 'JOIN', label: 'JOIN helloworld:server2.com' }],
    ['CHANNELS', { verb: 'CHANNELS', label: 'CHANNELS' }],
    ['SAY general hi  there ', { verb: 'SAY', label: 'SAY general hi  there ', channel: 'general', message: 'hi  there ' }],
  ])('%s waits for its answer', (line, expected) => {
    expect(expectedReplyTo(line)).toEqual(expected);
  });

  it.each([
    ['CREATE', 'CREATE'],
    ['JOIN a b', 'JOIN a b'],
    ['CHANNELS extra words', 'CHANNELS extra words'],
    ['REGISTER', 'REGISTER'],
    ['LOGIN bob', 'LOGIN bob'],
    ['SAY general', 'SAY general'],
    ['SAY', 'SAY'],
  ])('malformed %j still gets its failure reply, so it waits too', (line, label) => {
    expect(expectedReplyTo(line)?.label).toBe(label);
  });

  it.each([
    '',
    ' ',
    'login bob pw',
    'Login bob pw',
    'HELLO',
    ' LOGIN bob pw',
    'LOGIN\tbob pw',
    'CHANNELSX',
    'FEDERATE-OUT server9',
    'FEDSAY bob@server1.com general hi',
    'FEDCHANNELS a, b',
    'RESULT LOGIN 1',
  ])('%j is not a command the server answers, so it waits for nothing', (line) => {
    expect(expectedReplyTo(line)).toBeUndefined();
  });

  it('never puts a password in a label', () => {
    expect(expectedReplyTo('LOGIN bob s3cret')?.label).toBe('LOGIN bob');
    expect(expectedReplyTo('REGISTER bob s3cret')?.label).toBe('REGISTER bob');
    expect(expectedReplyTo('LOGIN  s3cret')?.label).toBe('LOGIN');
    expect(expectedReplyTo('REGISTER bob s3cret extra')?.label).toBe('REGISTER bob');
  });

  it('shortens a long command in its label and makes control characters visible', () => {
    const label = expectedReplyTo(`SAY general ${'x'.repeat(100)}`)?.label ?? '';
    expect([...label]).toHaveLength(41);
    expect(label.endsWith('x…')).toBe(true);
    expect(expectedReplyTo('SAY general \u001b[2J')?.label).toBe('SAY general \u241b[2J');
  });

  it('keeps the message of a SAY byte for byte, with an empty message when there is none', () => {
    expect(expectedReplyTo('SAY 日本語 こんにちは  world')).toMatchObject({ channel: '日本語', message: 'こんにちは  world' });
    expect(expectedReplyTo('SAY general ')).toMatchObject({ channel: 'general', message: '' });
    expect(expectedReplyTo('SAY  hi')).toMatchObject({ channel: '', message: 'hi' });
  });
});

describe('settles', () => {
  const expected = (line: string) => {
    const reply = expectedReplyTo(line);
    if (!reply) throw new Error(`${line} waits for nothing`);
    return reply;
  };

  it.each([
    ['REGISTER bob pw', 'RESULT REGISTER 1'],
    ['REGISTER bob pw', 'RESULT REGISTER 0'],
    ['LOGIN bob pw', 'RESULT LOGIN 1'],
    ['LOGIN bob pw', 'RESULT LOGIN 0'],
    ['CREATE general', 'RESULT CREATE general 1'],
    ['CREATE general', 'RESULT CREATE general 0'],
    ['CREATE', 'RESULT CREATE 0'],
    ['JOIN helloworld:server2.com', 'RESULT JOIN helloworld:server2.com 1'],
    ['JOIN', 'RESULT JOIN 0'],
    ['CHANNELS', 'RESULT CHANNELS '],
    ['CHANNELS', 'RESULT CHANNELS a, b:server2.com'],
    ['SAY general hi', 'RESULT SAY 0'],
  ])('%s is answered by %j', (sent, line) => {
    expect(settles(expected(sent), line, 'bob')).toBe(true);
  });

  it.each([
    ['REGISTER bob pw', 'RESULT LOGIN 1'],
    ['LOGIN bob pw', 'RESULT LOGINS 1'],
    ['LOGIN bob pw', 'RESULT LOGIN 2'],
    ['LOGIN bob pw', 'RESULT LOGIN'],
    ['CREATE general', 'RESULT JOIN general 1'],
    ['CHANNELS', 'RESULT CHANNELS'],
    ['CHANNELS', 'RECV bob general hi'],
    ['SAY general hi', 'RESULT SAY 1'],
    ['SAY general hi', 'RECV bob general hi '],
    ['SAY general hi', 'RECV bob general2 hi'],
    ['SAY general hi', 'RECV alice general hi'],
    ['SAY general hi', 'RECV bob@server2.com general hi'],
  ])('%s is not answered by %j', (sent, line) => {
    expect(settles(expected(sent), line, 'bob')).toBe(false);
  });

  it('a SAY is answered by the RECV of the user this connection is logged in as, message exact', () => {
    expect(settles(expected('SAY general hi  there '), 'RECV bob general hi  there ', 'bob')).toBe(true);
    expect(settles(expected('SAY general hi  there '), 'RECV bob general hi there', 'bob')).toBe(false);
  });

  it('a SAY before any login is answered only by RESULT SAY 0', () => {
    expect(settles(expected('SAY general hi'), 'RECV bob general hi', undefined)).toBe(false);
    expect(settles(expected('SAY general hi'), 'RESULT SAY 0', undefined)).toBe(true);
  });

  it('a SAY to a remote channel is answered by the RECV with the same qualified name and the sender bare', () => {
    const say = expected('SAY helloworld:server2.com hi all');
    expect(settles(say, 'RECV bob helloworld:server2.com hi all', 'bob')).toBe(true);
    expect(settles(say, 'RECV bob@server1.com helloworld hi all', 'bob')).toBe(false);
    expect(settles(say, 'RECV bob helloworld:server3.com hi all', 'bob')).toBe(false);
  });

  it('a SAY to a channel qualified with this server hostname is answered by the RECV with the bare name', () => {
    expect(settles(expected('SAY general:127.0.0.1:4400 hi'), 'RECV bob general hi', 'bob')).toBe(true);
  });
});

describe('mayBeOvertaken', () => {
  it.each([
    ['SAY helloworld:server2.com hi', true],
    ['SAY general hi', false],
    ['SAY general: hi', false],
    ['SAY :server2.com hi', false],
    ['JOIN helloworld:server2.com', false],
  ])('%s: %s', (line, overtaken) => {
    const reply = expectedReplyTo(line);
    expect(reply && mayBeOvertaken(reply)).toBe(overtaken);
  });
});

describe('OwedReplies', () => {
  it('owes nothing at first and for lines the server does not answer', () => {
    const owed = owedAfter(['', 'hello', 'login bob pw', 'FEDSAY bob@x general hi']);
    expect(owed.isEmpty).toBe(true);
    expect(owed.describe()).toBe('');
  });

  it('settles answers in command order and says what is still owed', () => {
    const owed = owedAfter(['REGISTER bob pw', 'LOGIN bob pw', 'CREATE general', 'CHANNELS']);
    expect(owed.describe()).toBe('REGISTER bob, LOGIN bob, CREATE general, CHANNELS');
    expect(owed.received('RESULT REGISTER 1')).toBe(true);
    expect(owed.received('RESULT CHANNELS general')).toBe(false);
    expect(owed.describe()).toBe('LOGIN bob, CREATE general, CHANNELS');
    expect(owed.received('RESULT LOGIN 1')).toBe(true);
    expect(owed.received('RESULT CREATE general 1')).toBe(true);
    expect(owed.received('RESULT CHANNELS general')).toBe(true);
    expect(owed.isEmpty).toBe(true);
  });

  it('settles only the oldest of two alike commands first', () => {
    const owed = owedAfter(['JOIN a', 'JOIN b']);
    expect(owed.received('RESULT JOIN a 1')).toBe(true);
    expect(owed.describe()).toBe('JOIN b');
  });

  it('knows the user only from RESULT LOGIN 1 to a LOGIN it sent', () => {
    const owed = owedAfter(['REGISTER bob pw']);
    owed.received('RESULT REGISTER 1');
    expect(owed.user).toBeUndefined();
    owed.received('RESULT LOGIN 1');
    expect(owed.user).toBeUndefined();
    owed.sent('LOGIN bob pw');
    owed.received('RESULT LOGIN 1');
    expect(owed.user).toBe('bob');
  });

  it('a failed LOGIN leaves the user unknown, so a later SAY is answered only by RESULT SAY 0', () => {
    const owed = owedAfter(['LOGIN bob wrong', 'SAY general hi'], ['RESULT LOGIN 0']);
    expect(owed.user).toBeUndefined();
    expect(owed.received('RECV bob general hi')).toBe(false);
    expect(owed.received('RESULT SAY 0')).toBe(true);
    expect(owed.isEmpty).toBe(true);
  });

  it('a SAY sent before LOGIN succeeded is answered by RESULT SAY 0, and one after it by its RECV', () => {
    const owed = owedAfter(['SAY general early', 'LOGIN bob pw', 'SAY general late']);
    expect(owed.received('RESULT SAY 0')).toBe(true);
    expect(owed.received('RESULT LOGIN 1')).toBe(true);
    expect(owed.received('RECV bob general late')).toBe(true);
    expect(owed.isEmpty).toBe(true);
  });

  it('a second LOGIN as someone else fails and keeps the first user', () => {
    const owed = owedAfter(['LOGIN bob pw', 'LOGIN alice pw', 'SAY general hi'], ['RESULT LOGIN 1', 'RESULT LOGIN 0']);
    expect(owed.user).toBe('bob');
    expect(owed.received('RECV alice general hi')).toBe(false);
    expect(owed.received('RECV bob general hi')).toBe(true);
  });

  it('a RECV from another user does not answer our SAY, even with the same channel and message', () => {
    const owed = owedAfter(['LOGIN bob pw', 'SAY general hi'], ['RESULT LOGIN 1']);
    expect(owed.received('RECV alice general hi')).toBe(false);
    expect(owed.received('RECV bob@server2.com general hi')).toBe(false);
    expect(owed.describe()).toBe('SAY general hi');
    expect(owed.received('RECV bob general hi')).toBe(true);
  });

  it('a RECV from another user does not answer a command that waits for a RESULT', () => {
    const owed = owedAfter(['LOGIN bob pw', 'JOIN general'], ['RESULT LOGIN 1']);
    expect(owed.received('RECV alice general hi')).toBe(false);
    expect(owed.describe()).toBe('JOIN general');
  });

  it('a SAY to another server may be answered after the commands that follow it', () => {
    const owed = owedAfter(['LOGIN bob pw', 'SAY helloworld:server2.com hi', 'CHANNELS', 'SAY general yo'], ['RESULT LOGIN 1']);
    expect(owed.received('RESULT CHANNELS general, helloworld:server2.com')).toBe(true);
    expect(owed.received('RECV bob general yo')).toBe(true);
    expect(owed.describe()).toBe('SAY helloworld:server2.com hi');
    expect(owed.received('RECV bob helloworld:server2.com hi')).toBe(true);
    expect(owed.isEmpty).toBe(true);
  });

  it('RESULT SAY 0 goes to the SAY next in command order before a remote SAY still waiting', () => {
    const owed = owedAfter(['LOGIN bob pw', 'SAY helloworld:server2.com hi', 'SAY nowhere yo', 'CREATE c'], ['RESULT LOGIN 1']);
    expect(owed.received('RESULT SAY 0')).toBe(true);
    expect(owed.received('RESULT CREATE c 1')).toBe(true);
    expect(owed.describe()).toBe('SAY helloworld:server2.com hi');
    expect(owed.received('RESULT SAY 0')).toBe(true);
    expect(owed.isEmpty).toBe(true);
  });

  it('a command is not answered by a reply to a command sent after it', () => {
    const owed = owedAfter(['LOGIN bob pw', 'SAY helloworld:server2.com hi', 'CREATE c', 'JOIN c'], ['RESULT LOGIN 1']);
    expect(owed.received('RESULT JOIN c 1')).toBe(false);
    expect(owed.describe()).toBe('SAY helloworld:server2.com hi, CREATE c, JOIN c');
  });

  it('lists what is owed without passwords', () => {
    const owed = owedAfter(['REGISTER bob s3cret', 'LOGIN bob s3cret', 'SAY general hello, world']);
    expect(owed.describe()).toBe('REGISTER bob, LOGIN bob, SAY general hello, world');
    expect(owed.describe()).not.toContain('s3cret');
  });
});
