import { describe, expect, it } from 'vitest';
import { median, percentile, round } from '../../bench/stats.js';

describe('percentile', () => {
  const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];

  it.each([
    [50, 5],
    [95, 10],
    [90, 9],
    [10, 1],
    [0, 1],
    [100, 10],
  ])('p%d of 1..10 is %d (nearest rank)', (p, expected) => {
    expect(percentile(samples, p)).toBe(expected);
  });

  it('is NaN without samples and refuses p outside 0-100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(/within 0-100/);
  });

  it('median of an odd count is the middle value', () => {
    expect(median([30, 10, 20])).toBe(20);
  });
});

describe('round', () => {
  it('rounds to the given decimals', () => {
    expect(round(12.345, 1)).toBe(12.3);
    expect(round(12.35, 0)).toBe(12);
  });
});
