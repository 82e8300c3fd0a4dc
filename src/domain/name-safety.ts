/**
 * Names that could pass for someone else's, refused when a user or channel is created
 * (docs/PROTOCOL.md §4, "Names that impersonate"). The rules follow Unicode's identifier guidance:
 * UTS #39's "highly restrictive" level for mixing scripts, and PRECIS (RFC 8264) for characters
 * that show nothing or reorder what is shown. Existing names are looked up as they are stored,
 * whatever these rules say: LOGIN and JOIN keep working for them.
 */

/** Why a new name was refused, for logs and tests. */
export type NameRisk = 'invisible' | 'bidi-control' | 'mixed-script';

// Bidi_Control: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069. They reorder what a reader sees.
const BIDI_CONTROL = /\p{Bidi_Control}/u;
// Characters that show nothing by themselves: format characters (Cf: U+200B, U+2060, U+FEFF, U+00AD,
// tags…) and the other default-ignorable code points (variation selectors, U+115F, U+3164…).
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
// Emoji sequences need two of them: U+200D (zero-width joiner) between pictographs, as in 👨‍👩‍👧, and
// U+FE0F/U+FE0E after a character that has an emoji and a text form, as in ❤️.
const ZWJ = 0x200d;
const VARIATION_SELECTORS = new Set([0xfe0e, 0xfe0f]);
const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const EMOJI = /\p{Emoji}/u;
const EMOJI_MODIFIER = /\p{Emoji_Modifier}/u;

/** A pictograph, possibly followed by a skin-tone modifier or a variation selector, ends before `index`. */
function pictographBefore(chars: readonly string[], index: number): boolean {
  let i = index - 1;
  while (i >= 0 && (VARIATION_SELECTORS.has(chars[i].codePointAt(0) as number) || EMOJI_MODIFIER.test(chars[i]))) i--;
  return i >= 0 && PICTOGRAPH.test(chars[i]);
}

/** Whether the invisible character at `index` is part of an emoji sequence. */
function inEmojiSequence(chars: readonly string[], index: number): boolean {
  const code = chars[index].codePointAt(0) as number;
  if (VARIATION_SELECTORS.has(code)) return index > 0 && EMOJI.test(chars[index - 1]);
  if (code === ZWJ) return pictographBefore(chars, index) && index + 1 < chars.length && PICTOGRAPH.test(chars[index + 1]);
  return false;
}

/**
 * The scripts Unicode assigns letters to (Unicode 15.1, as Node 20's ICU knows them). Common and
 * Inherited (digits, punctuation, symbols, emoji, combining marks) go with any script and are not
 * listed.
 */
const SCRIPT_NAMES = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Syriac',
  'Thaana',
  'Nko',
  'Samaritan',
  'Mandaic',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Georgian',
  'Hangul',
  'Ethiopic',
  'Cherokee',
  'Canadian_Aboriginal',
  'Ogham',
  'Runic',
  'Tagalog',
  'Hanunoo',
  'Buhid',
  'Tagbanwa',
  'Khmer',
  'Mongolian',
  'Limbu',
  'Tai_Le',
  'New_Tai_Lue',
  'Buginese',
  'Tai_Tham',
  'Balinese',
  'Sundanese',
  'Batak',
  'Lepcha',
  'Ol_Chiki',
  'Glagolitic',
  'Tifinagh',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
  'Yi',
  'Lisu',
  'Vai',
  'Bamum',
  'Syloti_Nagri',
  'Phags_Pa',
  'Saurashtra',
  'Kayah_Li',
  'Rejang',
  'Javanese',
  'Cham',
  'Tai_Viet',
  'Meetei_Mayek',
  'Coptic',
  'Braille',
  'Linear_B',
  'Lycian',
  'Carian',
  'Old_Italic',
  'Gothic',
  'Old_Permic',
  'Ugaritic',
  'Old_Persian',
  'Deseret',
  'Shavian',
  'Osmanya',
  'Osage',
  'Elbasan',
  'Caucasian_Albanian',
  'Vithkuqi',
  'Linear_A',
  'Cypriot',
  'Imperial_Aramaic',
  'Palmyrene',
  'Nabataean',
  'Hatran',
  'Phoenician',
  'Lydian',
  'Meroitic_Hieroglyphs',
  'Meroitic_Cursive',
  'Kharoshthi',
  'Old_South_Arabian',
  'Old_North_Arabian',
  'Manichaean',
  'Avestan',
  'Inscriptional_Parthian',
  'Inscriptional_Pahlavi',
  'Psalter_Pahlavi',
  'Old_Turkic',
  'Old_Hungarian',
  'Hanifi_Rohingya',
  'Yezidi',
  'Old_Sogdian',
  'Sogdian',
  'Old_Uyghur',
  'Chorasmian',
  'Elymaic',
  'Brahmi',
  'Kaithi',
  'Sora_Sompeng',
  'Chakma',
  'Mahajani',
  'Sharada',
  'Khojki',
  'Multani',
  'Khudawadi',
  'Grantha',
  'Newa',
  'Tirhuta',
  'Siddham',
  'Modi',
  'Takri',
  'Ahom',
  'Dogra',
  'Warang_Citi',
  'Dives_Akuru',
  'Nandinagari',
  'Zanabazar_Square',
  'Soyombo',
  'Pau_Cin_Hau',
  'Bhaiksuki',
  'Marchen',
  'Masaram_Gondi',
  'Gunjala_Gondi',
  'Makasar',
  'Kawi',
  'Cuneiform',
  'Cypro_Minoan',
  'Egyptian_Hieroglyphs',
  'Anatolian_Hieroglyphs',
  'Mro',
  'Tangsa',
  'Bassa_Vah',
  'Pahawh_Hmong',
  'Medefaidrin',
  'Miao',
  'Tangut',
  'Khitan_Small_Script',
  'Nushu',
  'Duployan',
  'SignWriting',
  'Nyiakeng_Puachue_Hmong',
  'Toto',
  'Wancho',
  'Nag_Mundari',
  'Mende_Kikakui',
  'Adlam',
];

interface ScriptTest {
  readonly name: string;
  readonly test: RegExp;
}

let scripts: readonly ScriptTest[] | undefined;

/**
 * One test per script this runtime knows (a name it does not know is left out rather than fail).
 * Compiled on the first name that is not plain ASCII rather than at load, where they would take a
 * noticeable part of every start-up.
 */
function knownScripts(): readonly ScriptTest[] {
  scripts ??= SCRIPT_NAMES.flatMap((name) => {
    try {
      return [{ name, test: new RegExp(`\\p{Script_Extensions=${name}}`, 'u') }];
    } catch {
      return [];
    }
  });
  return scripts;
}

/**
 * The scripts that may share one name under UTS #39's "highly restrictive" level: any one script
 * alone, or one of these writing systems, each of which mixes scripts by nature (and Latin with them).
 */
const WRITING_SYSTEMS: readonly ReadonlySet<string>[] = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

/** The scripts a character belongs to by its Script_Extensions; empty for Common and Inherited only. */
function scriptsOf(char: string): string[] {
  return knownScripts()
    .filter((script) => script.test.test(char))
    .map((script) => script.name);
}

/** Whether every character's scripts meet in one script, or all fit one of the writing systems. */
function singleWritingSystem(perChar: readonly string[][]): boolean {
  if (perChar.length <= 1) return true;
  const common = perChar.slice(1).reduce((shared, scripts) => shared.filter((name) => scripts.includes(name)), perChar[0]);
  if (common.length > 0) return true;
  return WRITING_SYSTEMS.some((system) => perChar.every((scripts) => scripts.some((name) => system.has(name))));
}

/** Fast path: printable ASCII is one script (Latin) or none, with nothing invisible. */
const PLAIN_ASCII = /^[\x21-\x7e]*$/;

/**
 * Why `name` could impersonate another if it were created, or undefined when it is safe. Checked
 * after the basic rules (length, white space, control characters, `@ : ,`) have passed.
 */
export function nameRisk(name: string): NameRisk | undefined {
  if (PLAIN_ASCII.test(name)) return undefined;
  if (BIDI_CONTROL.test(name)) return 'bidi-control';
  const chars = [...name];
  for (let i = 0; i < chars.length; i++) {
    if (INVISIBLE.test(chars[i]) && !inEmojiSequence(chars, i)) return 'invisible';
  }
  const perChar = chars.map(scriptsOf).filter((scripts) => scripts.length > 0);
  return singleWritingSystem(perChar) ? undefined : 'mixed-script';
}
