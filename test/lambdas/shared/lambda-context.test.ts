import { describe, expect, it } from 'vitest';
import { watchBudgetPolls } from '../../../lambdas/shared/lambda-context.js';

describe('watchBudgetPolls', () => {
  it.each([
    { pollSeconds: 5, watchSeconds: 60, remainingMs: undefined, expected: 12 },
    { pollSeconds: 5, watchSeconds: 60, remainingMs: 900_000, expected: 12 },
    { pollSeconds: 5, watchSeconds: 600, remainingMs: 90_000, expected: 12 },
    { pollSeconds: 5, watchSeconds: 60, remainingMs: 34_000, expected: 0 },
    { pollSeconds: 5, watchSeconds: 60, remainingMs: 10_000, expected: 0 },
    { pollSeconds: 7, watchSeconds: 20, remainingMs: undefined, expected: 2 },
    { pollSeconds: 30, watchSeconds: 10, remainingMs: undefined, expected: 0 },
  ])(
    'poll $pollSeconds s, watch $watchSeconds s, remaining $remainingMs ms -> $expected sleeps',
    ({ pollSeconds, watchSeconds, remainingMs, expected }) => {
      // Prepare
      const context = remainingMs === undefined ? undefined : { getRemainingTimeInMillis: () => remainingMs };

      // Act
      const polls = watchBudgetPolls({ pollSeconds, watchSeconds }, context);

      // Assess
      expect(polls).toBe(expected);
    },
  );
});
