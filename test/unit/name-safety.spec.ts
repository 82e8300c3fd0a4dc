import { nameRisk } from '../../src/domain/name-safety';

describe('names that could impersonate another are refused at creation', () => {
  const refused: Array<[string, string, string]> = [
    ['admin followed by U+200B zero-width space', 'admin\u200B', 'invisible'],
    ['a zero-width joiner between letters', 'ad\u200Dmin', 'invisible'],
    ['U+FEFF byte order mark', '\uFEFFadmin', 'invisible'],
    ['U+00AD soft hyphen', 'ad\u00ADmin', 'invisible'],
    ['U+2060 word joiner', 'adm\u2060in', 'invisible'],
    ['a Hangul filler U+3164', 'admin\u3164', 'invisible'],
    ['a variation selector after a letter', 'a\uFE0Fdmin', 'invisible'],
    ['U+202E right-to-left override', 'nimda\u202E', 'bidi-control'],
    ['U+200F right-to-left mark', 'admin\u200F', 'bidi-control'],
    ['U+2066 left-to-right isolate', '\u2066admin', 'bidi-control'],
    ['Cyrillic а (U+0430) among Latin letters', '\u0430dmin', 'mixed-script'],
    ['Greek ο (U+03BF) among Latin letters', 'bοb', 'mixed-script'],
    ['Cyrillic and Greek', 'Ρусский', 'mixed-script'],
    ['Latin and Arabic', 'aليس', 'mixed-script'],
    ['Hangul and Hiragana', '한ひ', 'mixed-script'],
  ];
  it.each(refused)('%s', (_what, name, risk) => {
    expect(nameRisk(name)).toBe(risk);
  });

  const accepted: Array<[string, string]> = [
    ['plain ASCII', 'alice_01'],
    ['ASCII punctuation and symbols', '#room!~-.'],
    ['Latin with accents', 'José'],
    ['Latin with a combining accent', 'Jose\u0301'],
    ['Cyrillic alone', 'привет'],
    ['Greek alone', 'Ελένη'],
    ['Cyrillic with digits', 'канал42'],
    ['Japanese: Han, Hiragana and Katakana', '日本語のチャンネル'],
    ['Japanese with the prolonged sound mark', 'ユーザー'],
    ['Japanese with Latin', 'Tokyoの部屋'],
    ['Chinese with Bopomofo', '中文ㄅㄆ'],
    ['Korean: Hangul and Han', '한국韓國'],
    ['Chinese with Latin and digits', '用户user1'],
    ['Arabic alone', 'مرحبا'],
    ['emoji', '😀😀😀'],
    ['emoji with a skin tone', '👋🏽'],
    ['an emoji with its emoji-form selector', '❤\uFE0F'],
    ['a family emoji (zero-width joiners between pictographs)', '👨\u200D👩\u200D👧'],
    ['a keycap', '1\uFE0F\u20E3'],
    ['Latin with emoji', 'party🎉'],
    ['private use', '\uE000'],
  ];
  it.each(accepted)('%s is accepted', (_what, name) => {
    expect(nameRisk(name)).toBeUndefined();
  });

  it('a joiner that ends the name, or follows no pictograph, is refused', () => {
    expect(nameRisk('👨\u200D')).toBe('invisible');
    expect(nameRisk('a\u200D👨')).toBe('invisible');
  });
});
