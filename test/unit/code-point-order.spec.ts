import { sortByCodePoint } from '../../src/domain/code-point-order';

describe('sortByCodePoint', () => {
  it('returns an empty array for empty input', () => {
    expect(sortByCodePoint([])).toEqual([]);
  });

  it('puts upper-case before lower-case (CHANNEL1 before channel1)', () => {
    expect(sortByCodePoint(['channel1', 'CHANNEL1'])).toEqual(['CHANNEL1', 'channel1']);
  });

  it('puts U+FF5E before U+1F600, by code point', () => {
    expect(sortByCodePoint(['\u{1F600}', '\uFF5E'])).toEqual(['\uFF5E', '\u{1F600}']);
  });

  it('orders U+FF5E and U+1F600 differently from the default UTF-16 sort', () => {
    const input = ['\uFF5E', '\u{1F600}'];
    expect(sortByCodePoint(input)).not.toEqual([...input].sort());
  });

  it('puts a prefix before the longer string', () => {
    expect(sortByCodePoint(['ab', 'a'])).toEqual(['a', 'ab']);
  });

  it('sorts ASCII, CJK and emoji by code point', () => {
    expect(sortByCodePoint(['😀', '日本', 'b', 'A', 'é'])).toEqual(['A', 'b', 'é', '日本', '😀']);
  });

  it('keeps duplicates', () => {
    expect(sortByCodePoint(['b', 'a', 'b'])).toEqual(['a', 'b', 'b']);
  });

  it('accepts any iterable, such as a Set', () => {
    expect(sortByCodePoint(new Set(['z', 'y']))).toEqual(['y', 'z']);
  });

  it('does not modify an input array', () => {
    const input = ['b', 'a'];
    sortByCodePoint(input);
    expect(input).toEqual(['b', 'a']);
  });
});
