import { CommandSyntax } from '../../src/transport/command';
import { CommandParser } from '../../src/transport/command-parser';
import { Frame } from '../../src/transport/line-framer';

const SYNTAX: Record<string, CommandSyntax> = {
  REGISTER: { fields: ['user', 'password'] },
  LOGIN: { fields: ['user', 'password'] },
  CREATE: { fields: ['channel'], subject: 'channel' },
  JOIN: { fields: ['channel'], subject: 'channel' },
  SAY: { fields: ['channel'], rest: 'message' },
  CHANNELS: { fields: [], canFail: false, lenient: true },
};

const parser = new CommandParser((verb) => SYNTAX[verb]);

function line(text: string | Buffer): Frame {
  return { kind: 'line', bytes: typeof text === 'string' ? Buffer.from(text, 'utf8') : text };
}

function overflow(text: string | Buffer): Frame {
  return { kind: 'overflow', prefix: typeof text === 'string' ? Buffer.from(text, 'utf8') : text };
}

function bytes(...parts: Array<string | number[]>): Buffer {
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));
}

function failure(verb: string, subject?: string) {
  return { kind: 'result', verb, ok: false, subject };
}

function refused(verb: string, subject?: string) {
  return { kind: 'refused', verb, failure: failure(verb, subject) };
}

describe('CommandParser', () => {
  describe('verbs', () => {
    it('ignores an unknown verb', () => {
      expect(parser.parse(line('HELLO world'))).toBeUndefined();
    });

    it('ignores a lower-case form of a known verb', () => {
      expect(parser.parse(line('join alpha'))).toBeUndefined();
    });

    it('ignores a mixed-case form of a known verb', () => {
      expect(parser.parse(line('Channels'))).toBeUndefined();
    });

    it('ignores a line starting with a space', () => {
      expect(parser.parse(line(' JOIN alpha'))).toBeUndefined();
    });

    it('ignores a verb-shaped word that has no syntax entry', () => {
      expect(parser.parse(line('QUIT'))).toBeUndefined();
    });

    it('does not look up words that are not verb-shaped', () => {
      const lookup = jest.fn(() => undefined);
      new CommandParser(lookup).parse(line('1abc x'));
      expect(lookup).not.toHaveBeenCalled();
    });

    it('ignores a known verb glued to non-ASCII bytes', () => {
      expect(parser.parse(line('JOIN日 alpha'))).toBeUndefined();
    });
  });

  describe('well-formed commands', () => {
    it('parses REGISTER into user and password with no subject', () => {
      expect(parser.parse(line('REGISTER bob hunter2'))).toEqual({
        kind: 'command',
        command: { verb: 'REGISTER', args: { user: 'bob', password: 'hunter2' }, subject: undefined },
        failure: failure('REGISTER'),
      });
    });

    it('parses JOIN with the channel as its subject', () => {
      expect(parser.parse(line('JOIN alpha'))).toEqual({
        kind: 'command',
        command: { verb: 'JOIN', args: { channel: 'alpha' }, subject: 'alpha' },
        failure: failure('JOIN', 'alpha'),
      });
    });

    it('decodes UTF-8 fields', () => {
      const outcome = parser.parse(line('CREATE 日本語'));
      expect(outcome).toEqual({
        kind: 'command',
        command: { verb: 'CREATE', args: { channel: '日本語' }, subject: '日本語' },
        failure: failure('CREATE', '日本語'),
      });
    });

    it('parses SAY into channel and message', () => {
      const outcome = parser.parse(line('SAY alpha hello'));
      expect(outcome).toEqual({
        kind: 'command',
        command: { verb: 'SAY', args: { channel: 'alpha', message: 'hello' }, subject: undefined },
        failure: failure('SAY'),
      });
    });

    it('parses CHANNELS as a command without a failure reply', () => {
      expect(parser.parse(line('CHANNELS'))).toEqual({ kind: 'command', command: { verb: 'CHANNELS', args: {} } });
    });

    it('parses CHANNELS followed by extra fields as a command', () => {
      expect(parser.parse(line('CHANNELS foo bar'))).toEqual({
        kind: 'command',
        command: { verb: 'CHANNELS', args: {} },
      });
    });

    it('parses CHANNELS followed by a single space as a command', () => {
      expect(parser.parse(line('CHANNELS '))).toEqual({ kind: 'command', command: { verb: 'CHANNELS', args: {} } });
    });
  });

  describe('SAY message', () => {
    function message(text: string): string | undefined {
      const outcome = parser.parse(line(text));
      return outcome?.kind === 'command' ? outcome.command.args.message : undefined;
    }

    it('keeps inner runs of spaces in the message', () => {
      expect(message('SAY alpha hi   there')).toBe('hi   there');
    });

    it('keeps trailing spaces in the message', () => {
      expect(message('SAY alpha hi  ')).toBe('hi  ');
    });

    it('keeps a leading second space as part of the message', () => {
      expect(message('SAY alpha  hi')).toBe(' hi');
    });

    it('accepts a message that is a single space', () => {
      expect(message('SAY alpha  ')).toBe(' ');
    });

    it('keeps tabs and multi-byte characters of the message', () => {
      expect(message('SAY alpha a\tb こんにちは  world')).toBe('a\tb こんにちは  world');
    });

    it('refuses SAY without a message', () => {
      expect(parser.parse(line('SAY alpha'))).toEqual(refused('SAY'));
    });

    it('refuses SAY with an empty message after the channel', () => {
      expect(parser.parse(line('SAY alpha '))).toEqual(refused('SAY'));
    });

    it('refuses SAY without any field', () => {
      expect(parser.parse(line('SAY'))).toEqual(refused('SAY'));
    });

    it('refuses SAY with an empty channel', () => {
      expect(parser.parse(line('SAY  hi'))).toEqual(refused('SAY'));
    });

    it('refuses SAY with invalid UTF-8 in the message', () => {
      expect(parser.parse(line(bytes('SAY alpha hi ', [0xff])))).toEqual(refused('SAY'));
    });
  });

  describe('field counts', () => {
    it('refuses CREATE without a channel, with a failure reply without subject', () => {
      expect(parser.parse(line('CREATE'))).toEqual(refused('CREATE'));
    });

    it('refuses CREATE followed by a space only, with a failure reply without subject', () => {
      expect(parser.parse(line('CREATE '))).toEqual(refused('CREATE'));
    });

    it('refuses JOIN with two fields, echoing the first as subject', () => {
      expect(parser.parse(line('JOIN a b'))).toEqual(refused('JOIN', 'a'));
    });

    it('refuses JOIN with a trailing space, echoing the channel as subject', () => {
      expect(parser.parse(line('JOIN alpha '))).toEqual(refused('JOIN', 'alpha'));
    });

    it('refuses REGISTER with one field', () => {
      expect(parser.parse(line('REGISTER bob'))).toEqual(refused('REGISTER'));
    });

    it('refuses REGISTER with three fields', () => {
      expect(parser.parse(line('REGISTER bob pw extra'))).toEqual(refused('REGISTER'));
    });

    it('refuses LOGIN without fields', () => {
      expect(parser.parse(line('LOGIN'))).toEqual(refused('LOGIN'));
    });

    it('refuses REGISTER with an empty field between two spaces', () => {
      expect(parser.parse(line('REGISTER bob  hunter2'))).toEqual(refused('REGISTER'));
    });

    it('refuses LOGIN with an empty user before the password', () => {
      expect(parser.parse(line('LOGIN  hunter2'))).toEqual(refused('LOGIN'));
    });

    it('refuses JOIN with an empty channel and a later field, without subject', () => {
      expect(parser.parse(line('JOIN  alpha'))).toEqual(refused('JOIN'));
    });
  });

  describe('UTF-8 validity', () => {
    it('refuses a field with an invalid byte, with no subject when the subject is that field', () => {
      expect(parser.parse(line(bytes('JOIN a', [0xff])))).toEqual(refused('JOIN'));
    });

    it('refuses a truncated multi-byte sequence', () => {
      expect(parser.parse(line(bytes('CREATE ', [0xe6, 0x97])))).toEqual(refused('CREATE'));
    });

    it('refuses an overlong encoding (C0 AF)', () => {
      expect(parser.parse(line(bytes('CREATE ', [0xc0, 0xaf])))).toEqual(refused('CREATE'));
    });

    it('refuses an encoded surrogate (ED A0 80)', () => {
      expect(parser.parse(line(bytes('CREATE ', [0xed, 0xa0, 0x80])))).toEqual(refused('CREATE'));
    });

    it('refuses invalid UTF-8 in a non-subject field, keeping the valid subject', () => {
      expect(parser.parse(line(bytes('JOIN alpha ', [0xff])))).toEqual(refused('JOIN', 'alpha'));
    });

    it('refuses a password with invalid UTF-8', () => {
      expect(parser.parse(line(bytes('LOGIN bob ', [0x80])))).toEqual(refused('LOGIN'));
    });

    it('keeps a byte order mark at the start of a field', () => {
      const outcome = parser.parse(line(bytes('CREATE ', [0xef, 0xbb, 0xbf], 'x')));
      expect(outcome?.kind === 'command' && outcome.command.args.channel).toBe('\uFEFFx');
    });

    it('keeps a byte order mark in the subject of the failure reply', () => {
      const outcome = parser.parse(line(bytes('CREATE ', [0xef, 0xbb, 0xbf], 'x')));
      expect(outcome?.failure).toEqual(failure('CREATE', '\uFEFFx'));
    });
  });

  describe('overflow frames', () => {
    it('refuses an overflow of a known verb', () => {
      expect(parser.parse(overflow('REGISTER bob hunter'))?.kind).toBe('refused');
    });

    it('ignores an overflow whose first word is not a known verb', () => {
      expect(parser.parse(overflow('xxxxxxxxxxxxxxxxxx'))).toBeUndefined();
    });

    it('ignores an overflow whose first word is a lower-case verb', () => {
      expect(parser.parse(overflow('join aaaaaaaaaaaa'))).toBeUndefined();
    });

    it('echoes the subject of an overflow when a space follows it in the prefix', () => {
      expect(parser.parse(overflow('JOIN alpha xxxxxxxx'))).toEqual(refused('JOIN', 'alpha'));
    });

    it('echoes no subject of an overflow when the subject was cut by the limit', () => {
      expect(parser.parse(overflow('JOIN alphaaaaaaaaaa'))).toEqual(refused('JOIN'));
    });

    it('echoes no subject of an overflow whose prefix ends right after the verb', () => {
      expect(parser.parse(overflow('JOIN'))).toEqual(refused('JOIN'));
    });

    it('echoes no subject of an overflow whose complete subject is invalid UTF-8', () => {
      expect(parser.parse(overflow(bytes('JOIN ', [0xff], ' aaaa')))).toEqual(refused('JOIN'));
    });

    it('refuses an overflow of SAY with a failure reply and no subject', () => {
      expect(parser.parse(overflow(`SAY alpha ${'m'.repeat(30)}`))).toEqual(refused('SAY'));
    });

    it('refuses an overflow of CHANNELS without a failure reply', () => {
      expect(parser.parse(overflow('CHANNELS xxxxxxxxxx'))).toEqual({ kind: 'refused', verb: 'CHANNELS' });
    });
  });
});
