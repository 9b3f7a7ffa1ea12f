import { describe, expect, it } from 'vitest';
import { LookPauses, RESERVE_MS, startWatch } from '../../../lambdas/shared/lambda-context.js';
import { fakeClock } from './fixtures.js';

/**
 * A check's loop against a watch: look (taking `lookMs`), then sleep `pollSeconds` while the
 * watch allows. With `timeoutMs`, the Lambda context counts down from it over looks and sleeps.
 */
function watchLoop(options: {
  pollSeconds: number;
  watchSeconds: number;
  lookMs: number;
  timeoutMs?: number;
}) {
  const clock = fakeClock();
  let elapsedMs = 0;
  const context =
    options.timeoutMs === undefined
      ? undefined
      : { getRemainingTimeInMillis: () => (options.timeoutMs ?? 0) - elapsedMs };
  const watch = startWatch({ watchSeconds: options.watchSeconds }, clock, context);
  let sleeps = 0;
  for (;;) {
    elapsedMs += options.lookMs;
    if (!watch.allows(options.pollSeconds * 1000)) break;
    elapsedMs += options.pollSeconds * 1000;
    sleeps += 1;
    // The clock moves as the check's sleeps do; looks take real time the fake clock does not see.
    clock.sleeps.push(options.pollSeconds * 1000);
  }
  return { sleeps, leftMs: options.timeoutMs === undefined ? undefined : options.timeoutMs - elapsedMs };
}

describe('startWatch', () => {
  it.each([
    { pollSeconds: 5, watchSeconds: 60, lookMs: 0, timeoutMs: undefined, sleeps: 12 },
    { pollSeconds: 7, watchSeconds: 20, lookMs: 0, timeoutMs: undefined, sleeps: 2 },
    { pollSeconds: 30, watchSeconds: 10, lookMs: 0, timeoutMs: undefined, sleeps: 0 },
    { pollSeconds: 5, watchSeconds: 60, lookMs: 0, timeoutMs: 900_000, sleeps: 12 },
    { pollSeconds: 5, watchSeconds: 60, lookMs: 1_000, timeoutMs: 900_000, sleeps: 10 },
    { pollSeconds: 5, watchSeconds: 600, lookMs: 0, timeoutMs: 90_000, sleeps: 11 },
    { pollSeconds: 5, watchSeconds: 600, lookMs: 20_000, timeoutMs: 90_000, sleeps: 2 },
    { pollSeconds: 5, watchSeconds: 60, lookMs: 0, timeoutMs: 34_000, sleeps: 0 },
  ])(
    'poll $pollSeconds s, watch $watchSeconds s, looks of $lookMs ms, timeout $timeoutMs ms -> $sleeps sleeps',
    ({ pollSeconds, watchSeconds, lookMs, timeoutMs, sleeps }) => {
      // Act
      const run = watchLoop({ pollSeconds, watchSeconds, lookMs, timeoutMs });

      // Assess
      expect(run.sleeps).toBe(sleeps);
    },
  );

  it('budgets by the time left, not by a count of sleeps: slow looks still end before the function does', () => {
    // Prepare: each look takes 25 s of an 11-minute function that watches for 10 minutes.
    const timeoutMs = 660_000;

    // Act
    const run = watchLoop({ pollSeconds: 5, watchSeconds: 600, lookMs: 25_000, timeoutMs });

    // Assess: it returned with more than the reserve left once its last look was done.
    expect(run.leftMs).toBeGreaterThanOrEqual(RESERVE_MS - 25_000);
    expect(run.leftMs).toBeGreaterThan(0);
    expect(run.sleeps).toBe(20);
  });
});

describe('LookPauses', () => {
  it.each<{ name: string; reads: boolean[]; pauses: number[] }>([
    { name: 'every look read everything', reads: [true, true, true], pauses: [5000, 5000, 5000] },
    {
      name: 'reads failing in a row back off to a minute',
      reads: [false, false, false, false, false],
      pauses: [10_000, 20_000, 40_000, 60_000, 60_000],
    },
    {
      name: 'a look that read everything starts over',
      reads: [false, false, true, false],
      pauses: [10_000, 20_000, 5000, 10_000],
    },
  ])('$name', ({ reads, pauses }) => {
    const looks = new LookPauses(5000);
    expect(reads.map((readAll) => looks.next(readAll))).toEqual(pauses);
  });

  it('never pauses less than the poll interval when it is longer than the cap', () => {
    expect(new LookPauses(120_000).next(false)).toBe(120_000);
  });

  it('falls back to the poll interval when the backoff does not fit the watch, and ends with it', () => {
    const clock = fakeClock();
    const watch = startWatch({ watchSeconds: 12 }, clock);
    const looks = new LookPauses(5000);

    expect(looks.within(watch, false)).toBe(10_000);
    clock.sleeps.push(10_000);
    expect(looks.within(watch, false)).toBeUndefined();
  });
});
