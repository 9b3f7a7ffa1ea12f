/**
 * Bounds on what the handlers put in the state. Step Functions fails a state whose output passes
 * 256 KB with `States.DataLimitExceeded`, which no Catch (not even `States.ALL`) catches: the run
 * would end without its rollback or announcement. Reasons come from AWS (a container's reason, a
 * deployment's error message) and from our own errors, and a release may touch hundreds of
 * deployments, so each reason is cut and each list is capped, the rest counted.
 */

/** The most characters of one reason kept in the state. */
export const REASON_MAX = 400;

/** The most failures listed in a phase's or the deployments' state; the rest are counted. */
export const FAILURES_LISTED_MAX = 40;

/** The most items a handler's error message lists (failed calls, deployments created...); the rest are counted. */
export const MESSAGE_ITEMS_MAX = 20;

/** `text` cut to `max` characters, ending with an ellipsis when cut. */
export function truncate(text: string, max = REASON_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The first `max` items with each `reason` cut, and how many were left out. */
export function boundFailures<T extends { reason: string }>(
  failures: readonly T[],
  max = FAILURES_LISTED_MAX,
): { failures: T[]; omitted: number } {
  return {
    failures: failures.slice(0, max).map((failure) => ({ ...failure, reason: truncate(failure.reason) })),
    omitted: Math.max(0, failures.length - max),
  };
}

/** Items joined by `separator`, at most `max` of them, then `and N more`. */
export function listSome(items: readonly string[], max = MESSAGE_ITEMS_MAX, separator = ', '): string {
  const shown = items.slice(0, max).map((item) => truncate(item));
  const rest = items.length - shown.length;
  return rest > 0 ? `${shown.join(separator)}${separator}and ${rest} more` : shown.join(separator);
}
