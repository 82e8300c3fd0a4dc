import 'reflect-metadata';
import { PATTERN_EXTRAS_METADATA, PATTERN_METADATA } from '@nestjs/microservices/constants';
import { CommandSyntax, resultOf, SYNTAX_EXTRA, Verb } from '../../src/transport/command';
import { encode, Reply, serialize } from '../../src/transport/replies';

describe('serialize', () => {
  it('writes a successful result without subject as "RESULT <VERB> 1"', () => {
    expect(serialize(Reply.result('REGISTER', true))).toBe('RESULT REGISTER 1\n');
  });

  it('writes a failed result without subject as "RESULT <VERB> 0"', () => {
    expect(serialize(Reply.result('SAY', false))).toBe('RESULT SAY 0\n');
  });

  it('writes a failed result with its subject between the verb and the flag', () => {
    expect(serialize(Reply.result('CREATE', false, 'alpha'))).toBe('RESULT CREATE alpha 0\n');
  });

  it('writes a successful result with a multi-byte subject', () => {
    expect(serialize(Reply.result('JOIN', true, '日本語'))).toBe('RESULT JOIN 日本語 1\n');
  });

  it('writes an empty subject as no subject', () => {
    expect(serialize(Reply.result('CREATE', false, ''))).toBe('RESULT CREATE 0\n');
  });

  it('writes an empty list with the trailing space of the prefix', () => {
    expect(serialize(Reply.list('CHANNELS', []))).toBe('RESULT CHANNELS \n');
  });

  it('writes a one-item list after the prefix', () => {
    expect(serialize(Reply.list('CHANNELS', ['alpha']))).toBe('RESULT CHANNELS alpha\n');
  });

  it('joins list items with a comma and a space', () => {
    expect(serialize(Reply.list('CHANNELS', ['a', 'b']))).toBe('RESULT CHANNELS a, b\n');
  });

  it('writes a RECV line with the message byte for byte, inner and trailing spaces included', () => {
    expect(serialize(Reply.recv('bob', 'alpha', 'hi  there '))).toBe('RECV bob alpha hi  there \n');
  });

  it.each([
    ['result', Reply.result('LOGIN', true)],
    ['result with subject', Reply.result('JOIN', false, 'x')],
    ['empty list', Reply.list('CHANNELS', [])],
    ['list', Reply.list('CHANNELS', ['a', 'b', 'c'])],
    ['recv', Reply.recv('u', 'c', 'trailing ')],
  ])('ends a %s line with exactly one LF and no CR', (_name, reply) => {
    const text = serialize(reply);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.indexOf('\n')).toBe(text.length - 1);
    expect(text).not.toContain('\r');
  });
});

describe('Reply factories', () => {
  it('builds a result reply', () => {
    expect(Reply.result('JOIN', true, 'alpha')).toEqual({ kind: 'result', verb: 'JOIN', ok: true, subject: 'alpha' });
  });

  it('builds a list reply', () => {
    expect(Reply.list('CHANNELS', ['a'])).toEqual({ kind: 'list', verb: 'CHANNELS', items: ['a'] });
  });

  it('builds a recv reply', () => {
    expect(Reply.recv('bob', 'alpha', 'hi')).toEqual({ kind: 'recv', from: 'bob', channel: 'alpha', message: 'hi' });
  });
});

describe('resultOf', () => {
  it('builds the success reply of a command, carrying its subject', () => {
    expect(resultOf({ verb: 'JOIN', args: { channel: 'alpha' }, subject: 'alpha' }, true)).toEqual(
      Reply.result('JOIN', true, 'alpha'),
    );
  });

  it('builds the failure reply of a command without subject', () => {
    expect(serialize(resultOf({ verb: 'LOGIN', args: { user: 'bob', password: 'x' } }, false))).toBe('RESULT LOGIN 0\n');
  });

  it('serializes the failure reply of a command with subject as "RESULT <VERB> <subject> 0"', () => {
    expect(serialize(resultOf({ verb: 'CREATE', args: { channel: 'alpha' }, subject: 'alpha' }, false))).toBe(
      'RESULT CREATE alpha 0\n',
    );
  });
});

describe('Verb', () => {
  const syntax: CommandSyntax = { fields: ['channel'], subject: 'channel' };

  class Handler {
    @Verb('JOIN', syntax)
    join(): void {}
  }

  it('registers the method as the message handler of the verb', () => {
    expect(Reflect.getMetadata(PATTERN_METADATA, Handler.prototype.join)).toEqual(['JOIN']);
  });

  it('attaches the syntax to the handler under the lineSyntax extra', () => {
    expect(Reflect.getMetadata(PATTERN_EXTRAS_METADATA, Handler.prototype.join)).toEqual({ [SYNTAX_EXTRA]: syntax });
  });

  it('names the extra lineSyntax', () => {
    expect(SYNTAX_EXTRA).toBe('lineSyntax');
  });
});

describe('serialize: server-to-server lines', () => {
  it.each([
    ['FEDERATE-OUT with the hostname', Reply.federateOut('server1.com'), 'FEDERATE-OUT server1.com\n'],
    ['FEDERATE-CONFIRM with the hostname', Reply.federateConfirm('server2.com'), 'FEDERATE-CONFIRM server2.com\n'],
    ['FEDCHANNELS with its names separated by a comma and a space', Reply.fedChannels(['a', 'b']), 'FEDCHANNELS a, b\n'],
    ['FEDCHANNELS without channels as the verb and a space', Reply.fedChannels([]), 'FEDCHANNELS \n'],
    ['FEDNEW with the bare channel', Reply.fedNew('alpha'), 'FEDNEW alpha\n'],
    ['FEDJOIN with the qualified user', Reply.fedJoin('bob@server1.com', 'alpha'), 'FEDJOIN bob@server1.com alpha\n'],
    [
      'FEDSAY with the message byte for byte',
      Reply.fedSay('bob@server1.com', 'alpha', ' hi  there '),
      'FEDSAY bob@server1.com alpha  hi  there \n',
    ],
    [
      'FEDRECV with both users and the qualified channel',
      Reply.fedRecv('ann', 'bob@server1.com', 'alpha:server2.com', 'hi'),
      'FEDRECV ann bob@server1.com alpha:server2.com hi\n',
    ],
    [
      'FEDRESULT of a JOIN with its qualified channel',
      Reply.fedResult('bob', 'JOIN', true, 'alpha:server2.com'),
      'FEDRESULT bob JOIN alpha:server2.com 1\n',
    ],
    ['FEDRESULT of a refused SAY without channel', Reply.fedResult('bob', 'SAY', false), 'FEDRESULT bob SAY 0\n'],
  ])('writes %s', (_name, reply, line) => {
    expect(serialize(reply)).toBe(line);
  });
});

describe('encode', () => {
  it('gives the serialized line and its length in UTF-8 bytes', () => {
    expect(encode(Reply.recv('bob', 'alpha', 'héllo'))).toEqual({ text: 'RECV bob alpha héllo\n', bytes: 22 });
  });

  it('encodes a reply once while it is sent to one session after another', () => {
    const reply = Reply.recv('bob', 'alpha', 'hi');
    const first = encode(reply);
    for (let member = 0; member < 3; member++) expect(encode(reply)).toBe(first);
  });

  it('gives each reply its own line when replies are sent in turn', () => {
    const hi = Reply.recv('bob', 'alpha', 'hi');
    const bye = Reply.recv('ann', 'beta', 'bye');
    expect(encode(hi).text).toBe('RECV bob alpha hi\n');
    expect(encode(bye).text).toBe('RECV ann beta bye\n');
    expect(encode(hi)).toEqual({ text: 'RECV bob alpha hi\n', bytes: 18 });
    expect(encode(Reply.recv('bob', 'alpha', 'hi')).text).toBe('RECV bob alpha hi\n');
  });
});
