import { describe, expect, it } from 'vitest';
import { boundFailures, listSome, REASON_MAX, truncate } from '../../../lambdas/shared/bounds.js';

describe('truncate', () => {
  it.each([
    { text: 'short', max: 10, expected: 'short' },
    { text: '0123456789', max: 10, expected: '0123456789' },
    { text: '01234567890', max: 10, expected: '012345678…' },
  ])('$text at $max -> $expected', ({ text, max, expected }) => {
    expect(truncate(text, max)).toBe(expected);
  });
});

describe('boundFailures', () => {
  it('keeps the first failures with their reasons cut, and counts the rest', () => {
    const failures = Array.from({ length: 45 }, (_, i) => ({
      environment: `e${i}`,
      reason: 'r'.repeat(1000),
    }));

    const bounded = boundFailures(failures);

    expect(bounded.failures).toHaveLength(40);
    expect(bounded.omitted).toBe(5);
    expect(bounded.failures[0]).toEqual({ environment: 'e0', reason: `${'r'.repeat(REASON_MAX - 1)}…` });
  });

  it('leaves a short list as it is', () => {
    expect(boundFailures([{ reason: 'boom' }])).toEqual({ failures: [{ reason: 'boom' }], omitted: 0 });
  });
});

describe('listSome', () => {
  it.each([
    { items: [], expected: '' },
    { items: ['a', 'b'], expected: 'a, b' },
    { items: ['a', 'b', 'c', 'd'], expected: 'a, b, and 2 more' },
  ])('$items', ({ items, expected }) => {
    expect(listSome(items, 2)).toBe(expected);
  });
});
