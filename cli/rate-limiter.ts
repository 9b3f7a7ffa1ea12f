import type { Clock } from '../lambdas/shared/clock.js';

/** Settings of a `RateLimiter`. */
export interface RateLimiterProps {
  /** Calls allowed per second, sustained. */
  readonly ratePerSecond: number;
  /**
   * Calls allowed back to back after a quiet spell.
   * @default a quarter of the rate, at least 1: any one-second window stays within 1.25 × the rate
   */
  readonly burst?: number;
  /** Time source; sleeps wait for tokens. */
  readonly clock: Clock;
}

/** Longest pause a run of throttling errors imposes on every caller. */
export const MAX_BACKOFF_MS = 5_000;
const FIRST_BACKOFF_MS = 500;

/**
 * One token bucket shared by every call to an API, so that the calls of all followers
 * together stay within a quota however many streams there are. Callers are served in
 * the order they asked (FIFO), which keeps the followers fair to each other.
 * Throttling reported by the API pauses every caller, with a pause that doubles while
 * throttling goes on and resets on the first success.
 */
export class RateLimiter {
  /** Calls allowed per second. */
  readonly ratePerSecond: number;
  /** Bucket size. */
  readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private refilledAtMs: number;
  private pausedUntilMs = 0;
  private backoffMs = FIRST_BACKOFF_MS;
  private throttledSince: number | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(props: RateLimiterProps) {
    if (!(props.ratePerSecond > 0)) {
      throw new RangeError(`RateLimiter: ratePerSecond must be > 0, got ${props.ratePerSecond}.`);
    }
    this.ratePerSecond = props.ratePerSecond;
    this.burst = Math.max(1, Math.floor(props.burst ?? props.ratePerSecond / 4));
    this.clock = props.clock;
    this.tokens = this.burst;
    this.refilledAtMs = props.clock.nowMs();
  }

  /** Resolves when the caller may make one call. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.acquire());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * The API said it throttled a call: every caller waits. The pause doubles with each
   * throttled call made after the previous pause, not with the calls that were already in
   * flight when it began (they belong to the same episode). Returns the pause in force.
   */
  throttled(): number {
    const nowMs = this.clock.nowMs();
    this.tokens = 0;
    this.throttledSince ??= nowMs;
    if (nowMs < this.pausedUntilMs) return this.pausedUntilMs - nowMs;
    const pauseMs = this.backoffMs;
    this.pausedUntilMs = nowMs + pauseMs;
    this.refilledAtMs = Math.max(this.refilledAtMs, this.pausedUntilMs);
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    return pauseMs;
  }

  /** A call went through: throttling is over. */
  succeeded(): void {
    this.backoffMs = FIRST_BACKOFF_MS;
    this.throttledSince = undefined;
  }

  /** When the current run of throttling began (ms since the epoch); undefined while calls go through. */
  get throttlingSinceMs(): number | undefined {
    return this.throttledSince;
  }

  private refill(nowMs: number): void {
    if (nowMs <= this.refilledAtMs) return;
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((nowMs - this.refilledAtMs) * this.ratePerSecond) / 1000,
    );
    this.refilledAtMs = nowMs;
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const nowMs = this.clock.nowMs();
      if (nowMs < this.pausedUntilMs) {
        await this.clock.sleep(this.pausedUntilMs - nowMs);
        continue;
      }
      this.refill(nowMs);
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
    }
  }
}
