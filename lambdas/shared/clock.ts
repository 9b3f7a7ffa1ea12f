/** Time as the handlers see it; injected into every core so tests and the local AWS control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
  /** Resolves after `ms` milliseconds of (possibly scaled) time. */
  sleep(ms: number): Promise<void>;
  /** Milliseconds of (possibly scaled) time since the epoch time `sinceMs`, measured as `sleep` measures. */
  elapsedMs(sinceMs: number): number;
}

/**
 * The system clock. `STEPDEPLOY_TIME_SCALE` (default 1) divides every sleep, so that
 * an offline run on the local AWS takes seconds; leave it unset in AWS.
 */
export function systemClock(scale = Number(process.env.STEPDEPLOY_TIME_SCALE ?? '1') || 1): Clock {
  return {
    nowMs: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / scale))),
    elapsedMs: (sinceMs) => (Date.now() - sinceMs) * scale,
  };
}
