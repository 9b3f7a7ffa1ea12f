import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalClock } from '../../local/clock.js';

describe('LocalClock', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('divides waits by the time scale', async () => {
    // Prepare
    const clock = new LocalClock(10);
    const fired: string[] = [];

    // Act
    clock.after(1_000, () => fired.push('after'));
    void clock.sleep(2_000).then(() => fired.push('sleep'));
    await vi.advanceTimersByTimeAsync(99);
    const early = [...fired];
    await vi.advanceTimersByTimeAsync(101);

    // Assess
    expect(early).toEqual([]);
    expect(fired).toEqual(['after', 'sleep']);
  });

  it('cancels a pending wait', async () => {
    // Prepare
    const clock = new LocalClock(1);
    const fired: string[] = [];

    // Act
    const cancel = clock.after(10, () => fired.push('after'));
    cancel();
    await vi.advanceTimersByTimeAsync(20);

    // Assess
    expect(fired).toEqual([]);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the time scale %s', (scale) => {
    expect(() => new LocalClock(scale)).toThrow(/Time scale .* is invalid: pass a positive number/);
  });
});
