/**
 * Pure statistics over the runs of one measurement: median, range, percentiles and the
 * per-run ratios of two interleaved series. No I/O; unit-tested in test/bench/stats.test.ts.
 */

/** The median; NaN for no values. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

/** Smallest and largest value; undefined for no values. */
export function range(values: readonly number[]): { min: number; max: number } | undefined {
  if (values.length === 0) return undefined;
  return { min: Math.min(...values), max: Math.max(...values) };
}

/**
 * The `p`-th percentile (0 < p ≤ 100) by nearest rank: the smallest value that at least `p`% of
 * the values are less than or equal to. NaN for no values.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

/**
 * `value[i] / baseline[i]` for every run index where both were measured (and the baseline is
 * not 0). Runs are interleaved, so run i of two variants shared the machine's state at that time:
 * the spread of these ratios is a fairer picture of the noise than the two ranges side by side.
 */
export function pairedRatios(values: readonly (number | undefined)[], baseline: readonly (number | undefined)[]): number[] {
  const ratios: number[] = [];
  const count = Math.min(values.length, baseline.length);
  for (let i = 0; i < count; i++) {
    const value = values[i];
    const base = baseline[i];
    if (value !== undefined && base !== undefined && base !== 0) ratios.push(value / base);
  }
  return ratios;
}

/** The values that were measured, in run order. */
export function measured(values: readonly (number | undefined)[]): number[] {
  return values.filter((value): value is number => value !== undefined);
}
