import {
  CHANNEL_NAME_MAX,
  isValidChannelName,
  isValidPassword,
  isValidUserName,
  PASSWORD_MAX_BYTES,
  USER_NAME_MAX,
} from '../../src/domain/names';

const EMOJI = '😀'; // one code point, two UTF-16 code units, four UTF-8 bytes

const FORBIDDEN: Array<[string, string]> = [
  ['space', ' '],
  ['tab', '\t'],
  ['LF', '\n'],
  ['CR', '\r'],
  ['no-break space U+00A0', '\u00A0'],
  ['ideographic space U+3000', '\u3000'],
  ['line separator U+2028', '\u2028'],
  ['NUL', '\u0000'],
  ['DEL U+007F', '\u007F'],
  ['ESC', '\u001B'],
  ['C1 control U+0085', '\u0085'],
  ['@', '@'],
  [':', ':'],
  [',', ','],
];

describe('limits', () => {
  it('declares 32 code points for user names, 64 for channels and 72 bytes for passwords', () => {
    expect([USER_NAME_MAX, CHANNEL_NAME_MAX, PASSWORD_MAX_BYTES]).toEqual([32, 64, 72]);
  });
});

describe.each([
  ['isValidUserName', isValidUserName, USER_NAME_MAX],
  ['isValidChannelName', isValidChannelName, CHANNEL_NAME_MAX],
] as const)('%s', (_name, isValid, max) => {
  it('accepts a one-character name', () => {
    expect(isValid('b')).toBe(true);
  });

  it('refuses an empty name', () => {
    expect(isValid('')).toBe(false);
  });

  it(`accepts ${max} ASCII characters`, () => {
    expect(isValid('a'.repeat(max))).toBe(true);
  });

  it(`refuses ${max + 1} ASCII characters`, () => {
    expect(isValid('a'.repeat(max + 1))).toBe(false);
  });

  it(`accepts ${max} emoji (${max * 2} UTF-16 code units)`, () => {
    expect(isValid(EMOJI.repeat(max))).toBe(true);
  });

  it(`refuses ${max + 1} emoji`, () => {
    expect(isValid(EMOJI.repeat(max + 1))).toBe(false);
  });

  it('counts a mix of emoji and ASCII by code points (max - 1 emoji + 1 letter is valid)', () => {
    expect(isValid(`${EMOJI.repeat(max - 1)}a`)).toBe(true);
  });

  it('counts a mix of emoji and ASCII by code points (max - 1 emoji + 2 letters is invalid)', () => {
    expect(isValid(`${EMOJI.repeat(max - 1)}ab`)).toBe(false);
  });

  it('accepts CJK characters', () => {
    expect(isValid('日本語')).toBe(true);
  });

  it('accepts both lower- and upper-case letters', () => {
    expect([isValid('bob'), isValid('Bob')]).toEqual([true, true]);
  });

  it.each(FORBIDDEN)('refuses a name containing %s', (_label, char) => {
    expect(isValid(`a${char}b`)).toBe(false);
  });

  it.each(FORBIDDEN)('refuses a name that is only %s', (_label, char) => {
    expect(isValid(char)).toBe(false);
  });
});

describe('isValidChannelName', () => {
  it('accepts 33 characters, more than a user name may have', () => {
    expect(isValidChannelName('c'.repeat(33))).toBe(true);
  });
});

describe('isValidPassword', () => {
  it('accepts a one-character password', () => {
    expect(isValidPassword('x')).toBe(true);
  });

  it('refuses an empty password', () => {
    expect(isValidPassword('')).toBe(false);
  });

  it('accepts 72 ASCII bytes', () => {
    expect(isValidPassword('p'.repeat(72))).toBe(true);
  });

  it('refuses 73 ASCII bytes', () => {
    expect(isValidPassword('p'.repeat(73))).toBe(false);
  });

  it('accepts 24 × 日 (72 UTF-8 bytes)', () => {
    expect(isValidPassword('日'.repeat(24))).toBe(true);
  });

  it('refuses 25 × 日 (75 UTF-8 bytes, only 25 code points)', () => {
    expect(isValidPassword('日'.repeat(25))).toBe(false);
  });

  it('refuses 18 emoji plus one letter (73 UTF-8 bytes)', () => {
    expect(isValidPassword(`${EMOJI.repeat(18)}a`)).toBe(false);
  });

  it('accepts the characters reserved in names (@ : ,)', () => {
    expect(isValidPassword('a@b:c,d')).toBe(true);
  });

  it.each(FORBIDDEN.filter(([, char]) => !'@:,'.includes(char)))('refuses a password containing %s', (_name, char) => {
    expect(isValidPassword(`pass${char}word`)).toBe(false);
  });
});
