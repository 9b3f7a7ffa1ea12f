/** Small statistics over samples, as the figures report them. */

/** The p-th percentile (0-100) by the nearest-rank method; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  if (p < 0 || p > 100) throw new RangeError(`percentile: p must be within 0-100, got ${p}.`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** The median (the 50th percentile by nearest rank). */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Rounds to a number of decimals, keeping the result a number for the JSON. */
export function round(value: number, decimals = 1): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
