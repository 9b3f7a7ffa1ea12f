/**
 * Time as the local AWS runs it: every wait (stop timeouts, fault delays, CodeDeploy's
 * ready and termination waits) is divided by the time scale, so a release that takes
 * an hour in AWS takes seconds here. Timestamps stay real.
 */
export class LocalClock {
  /** @param timeScale how many times faster than real time waits run; 1 = real time. */
  constructor(readonly timeScale = 1) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
      throw new Error(`Time scale ${timeScale} is invalid: pass a positive number (1 = real time).`);
    }
  }

  /** Milliseconds since the epoch (not scaled). */
  nowMs(): number {
    return Date.now();
  }

  /** Real milliseconds that a wait of `ms` lasts at this time scale. */
  scaledMs(ms: number): number {
    return Math.max(0, ms / this.timeScale);
  }

  /** Resolves after `ms` milliseconds of scaled time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.scaledMs(ms)));
  }

  /** Runs `fn` after `ms` milliseconds of scaled time; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void {
    const timer = setTimeout(fn, this.scaledMs(ms));
    return () => clearTimeout(timer);
  }
}
