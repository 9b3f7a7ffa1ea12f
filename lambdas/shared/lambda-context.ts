import type { DeployConfig } from './config.js';

/** The part of the Lambda context the handlers use; optional so the local runner and tests can omit it. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

/** Time kept back from a check's watch so it returns its state before Lambda times it out. */
export const RESERVE_MS = 30_000;

/**
 * How many sleeps of `config.pollSeconds` one check invocation may do between its looks:
 * the watch lasts `min(config.watchSeconds, remaining Lambda time - 30 s)`. The budget
 * counts sleeps rather than reading the clock, so a scaled clock shortens the run, not the
 * number of looks. Zero means: look once and return.
 */
export function watchBudgetPolls(
  config: Pick<DeployConfig, 'pollSeconds' | 'watchSeconds'>,
  context?: LambdaContext,
): number {
  let watchMs = config.watchSeconds * 1000;
  if (context) watchMs = Math.min(watchMs, context.getRemainingTimeInMillis() - RESERVE_MS);
  return Math.max(0, Math.floor(watchMs / (config.pollSeconds * 1000)));
}
