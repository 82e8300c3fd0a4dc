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

describe('isValidUserName', () => {
  it('accepts a one-character name', () => {
    expect(isValidUserName('b')).toBe(true);
  });

  it('refuses an empty name', () => {
    expect(isValidUserName('')).toBe(false);
  });

  it('accepts 32 ASCII characters', () => {
    expect(isValidUserName('a'.repeat(32))).toBe(true);
  });

  it('refuses 33 ASCII characters', () => {
    expect(isValidUserName('a'.repeat(33))).toBe(false);
  });

  it('accepts 32 emoji (64 UTF-16 code units)', () => {
    expect(isValidUserName(EMOJI.repeat(32))).toBe(true);
  });

  it('refuses 33 emoji', () => {
    expect(isValidUserName(EMOJI.repeat(33))).toBe(false);
  });

  it('counts a mix of emoji and ASCII by code points (31 emoji + 1 letter is valid)', () => {
    expect(isValidUserName(`${EMOJI.repeat(31)}a`)).toBe(true);
  });

  it('counts a mix of emoji and ASCII by code points (31 emoji + 2 letters is invalid)', () => {
    expect(isValidUserName(`${EMOJI.repeat(31)}ab`)).toBe(false);
  });

  it('accepts CJK characters', () => {
    expect(isValidUserName('日本語')).toBe(true);
  });

  it('accepts both lower- and upper-case letters', () => {
    expect([isValidUserName('bob'), isValidUserName('Bob')]).toEqual([true, true]);
  });

  it.each(FORBIDDEN)('refuses a name containing %s', (_name, char) => {
    expect(isValidUserName(`a${char}b`)).toBe(false);
  });

  it.each(FORBIDDEN)('refuses a name that is only %s', (_name, char) => {
    expect(isValidUserName(char)).toBe(false);
  });
});

describe('isValidChannelName', () => {
  it('accepts a one-character name', () => {
    expect(isValidChannelName('c')).toBe(true);
  });

  it('refuses an empty name', () => {
    expect(isValidChannelName('')).toBe(false);
  });

  it('accepts 64 ASCII characters', () => {
    expect(isValidChannelName('c'.repeat(64))).toBe(true);
  });

  it('refuses 65 ASCII characters', () => {
    expect(isValidChannelName('c'.repeat(65))).toBe(false);
  });

  it('accepts 64 emoji', () => {
    expect(isValidChannelName(EMOJI.repeat(64))).toBe(true);
  });

  it('refuses 65 emoji', () => {
    expect(isValidChannelName(EMOJI.repeat(65))).toBe(false);
  });

  it('accepts 33 characters, more than a user name may have', () => {
    expect(isValidChannelName('c'.repeat(33))).toBe(true);
  });

  it('accepts CJK characters', () => {
    expect(isValidChannelName('日本語')).toBe(true);
  });

  it.each(FORBIDDEN)('refuses a name containing %s', (_name, char) => {
    expect(isValidChannelName(`a${char}b`)).toBe(false);
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

  it.each([
    ['space', ' '],
    ['tab', '\t'],
    ['no-break space U+00A0', '\u00A0'],
    ['ideographic space U+3000', '\u3000'],
    ['line separator U+2028', '\u2028'],
    ['NUL', '\u0000'],
    ['DEL U+007F', '\u007F'],
    ['ESC', '\u001B'],
  ])('refuses a password containing %s', (_name, char) => {
    expect(isValidPassword(`pass${char}word`)).toBe(false);
  });
});
