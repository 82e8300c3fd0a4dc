import { inTurn, median } from '../../bench/median';

describe('the bench median', () => {
  it('is the middle value of an odd count', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([7])).toBe(7);
  });

  it('is the mean of the two middle values of an even count, not either one', () => {
    expect(median([1_000, 1_200])).toBe(1_100);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(median([0.58, 0.61])).toBe(0.6);
  });

  it('keeps whole numbers whole and others to two decimals', () => {
    expect(median([3340, 3485])).toBe(3413);
    expect(median([10.7, 11.04])).toBe(10.87);
  });

  it('is NaN for no values', () => {
    expect(median([])).toBeNaN();
  });
});

describe('the order of the targets in a run', () => {
  it('starts one further along each run, so each target is first once in as many runs', () => {
    const targets = ['embedded', 'postgres', 'reference'];
    expect(inTurn(targets, 1)).toEqual(['embedded', 'postgres', 'reference']);
    expect(inTurn(targets, 2)).toEqual(['postgres', 'reference', 'embedded']);
    expect(inTurn(targets, 3)).toEqual(['reference', 'embedded', 'postgres']);
    expect(inTurn(targets, 4)).toEqual(targets);
    expect(targets).toEqual(['embedded', 'postgres', 'reference']);
  });

  it('keeps a single target, and no targets', () => {
    expect(inTurn(['server'], 5)).toEqual(['server']);
    expect(inTurn([], 2)).toEqual([]);
  });
});
