import type { Clock } from '../../lambdas/shared/clock.js';

/**
 * Virtual time for tests: `sleep` resolves when the clock has advanced past its end, and
 * the clock jumps to the next timer whenever the event loop is otherwise idle (every
 * mocked SDK call settles in microtasks, so "idle" means every caller is sleeping).
 */
export class FakeClock implements Clock {
  private now: number;
  private readonly timers: Array<{ atMs: number; seq: number; resolve: () => void }> = [];
  private seq = 0;
  private pumping = false;

  constructor(startMs = Date.parse('2026-11-26T08:00:00Z')) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  elapsedMs(sinceMs: number): number {
    return this.now - sinceMs;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.push({ atMs: this.now + Math.max(0, ms), seq: this.seq++, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.pumping = false;
    if (this.timers.length === 0) return;
    this.timers.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
    const next = this.timers[0].atMs;
    this.now = Math.max(this.now, next);
    while (this.timers.length > 0 && this.timers[0].atMs <= this.now) this.timers.shift()?.resolve();
    this.schedule();
  }
}
