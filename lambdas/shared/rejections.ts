/** An error as one line: `Name: message` for an Error, its text otherwise. */
export function errorLine(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}

/**
 * What went wrong across a batch run with `Promise.allSettled`: each rejected item as
 * `<where>: <error line>`, joined by `; `, with the first rejection as the cause to keep;
 * undefined when every item was fulfilled. `items[i]` is the item of `results[i]`.
 */
export function rejectionSummary<T>(
  results: readonly PromiseSettledResult<unknown>[],
  items: readonly T[],
  where: (item: T) => string,
): { what: string; cause: unknown } | undefined {
  const failed = results.flatMap((result, i) =>
    result.status === 'rejected' ? [{ item: items[i], reason: result.reason as unknown }] : [],
  );
  if (failed.length === 0) return undefined;
  return {
    what: failed.map(({ item, reason }) => `${where(item)}: ${errorLine(reason)}`).join('; '),
    cause: failed[0]?.reason,
  };
}
