import type { Clock } from './clock.js';
import type { DeployConfig } from './config.js';

/** The part of the Lambda context the handlers use; optional so the local runner and tests can omit it. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  /** The invocation's request id, which Lambda's own log lines (START, REPORT) carry too. */
  awsRequestId?: string;
}

/** Time kept back from a check's watch so it returns its state before Lambda times it out. */
export const RESERVE_MS = 30_000;

/** How long a check may go on watching before it hands its state back to the state machine. */
export interface Watch {
  /**
   * Whether a sleep of `sleepMs` still fits: after it, the watch has not run past
   * `watchSeconds`, and more than the reserve is left of the function's time for one more
   * look and the return.
   */
  allows(sleepMs: number): boolean;
}

/**
 * Starts a check's watch. It budgets by the time that passes, looks included, not by a count
 * of sleeps: a look that takes long leaves fewer sleeps. Inside Lambda the time is the
 * context's, so the check returns its state at least `RESERVE_MS` before Lambda would stop
 * it; the local runner counts the context down on the same scaled clock as the handlers'
 * sleeps. Without a context (a core called directly) the watch reads `clock`.
 */
export function startWatch(
  config: Pick<DeployConfig, 'watchSeconds'>,
  clock: Clock,
  context?: LambdaContext,
): Watch {
  const watchMs = config.watchSeconds * 1000;
  if (context) {
    const startRemainingMs = context.getRemainingTimeInMillis();
    return {
      allows: (sleepMs) => {
        const remainingMs = context.getRemainingTimeInMillis();
        const watchedMs = startRemainingMs - remainingMs;
        return watchedMs + sleepMs <= watchMs && remainingMs - sleepMs > RESERVE_MS;
      },
    };
  }
  const startMs = clock.nowMs();
  return { allows: (sleepMs) => clock.nowMs() - startMs + sleepMs <= watchMs };
}
