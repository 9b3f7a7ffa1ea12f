import { callSiteOf, describeFailure, isTransient } from './aws-errors.js';
import { listSome } from './bounds.js';

/**
 * What went wrong across a batch run with `Promise.allSettled`: each rejected item in words (the
 * call that failed and where when the error says, else `<where>: <error line>`), joined by `; `,
 * the first few only, with the first rejection as the cause to keep, how many failed, and whether every rejection
 * was transient (throttling...: a retry may well succeed); undefined when every item was
 * fulfilled. `items[i]` is the item of `results[i]`.
 */
export function rejectionSummary<T>(
  results: readonly PromiseSettledResult<unknown>[],
  items: readonly T[],
  where: (item: T) => string,
): { what: string; cause: unknown; count: number; allTransient: boolean } | undefined {
  const failed = results.flatMap((result, i) =>
    result.status === 'rejected' ? [{ item: items[i], reason: result.reason as unknown }] : [],
  );
  if (failed.length === 0) return undefined;
  const lines = failed.map(({ item, reason }) =>
    callSiteOf(reason)?.where ? describeFailure(reason) : `${where(item)}: ${describeFailure(reason)}`,
  );
  return {
    what: listSome(lines, undefined, '; '),
    cause: failed[0]?.reason,
    count: failed.length,
    allTransient: failed.every(({ reason }) => isTransient(reason)),
  };
}
