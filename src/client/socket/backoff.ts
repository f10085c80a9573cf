/** Parameters of {@link fullJitterBackoff}. */
export interface BackoffOptions {
  /**
   * The ceiling of attempt 1, in milliseconds; each later attempt doubles it.
   * @default 1_000 ({@link backoffDefaults})
   */
  baseMs?: number;
  /**
   * The largest delay, in milliseconds.
   * @default 30_000 ({@link backoffDefaults})
   */
  capMs?: number;
}

/** Defaults of {@link BackoffOptions}. */
export const backoffDefaults: Readonly<Required<BackoffOptions>> = Object.freeze({
  baseMs: 1_000,
  capMs: 30_000,
});

/**
 * Exponential backoff with full jitter ("Exponential Backoff and Jitter", AWS Architecture
 * Blog, 2015): attempt 0 is immediate, attempt `n` waits a uniformly random time in
 * `[0, min(capMs, baseMs · 2ⁿ))`. Jitter spreads a crowd of clients that lost the same
 * server, so they do not all come back in the same millisecond.
 *
 * @param random - a source of numbers in `[0, 1)`; tests pass a fixed one.
 * @returns a `retryDelayMs` function for `createWSClient`.
 */
export function fullJitterBackoff(
  options: BackoffOptions = backoffDefaults,
  random: () => number = Math.random,
): (attemptIndex: number) => number {
  const baseMs = options.baseMs ?? backoffDefaults.baseMs;
  const capMs = options.capMs ?? backoffDefaults.capMs;
  return (attemptIndex) => {
    if (attemptIndex <= 0) return 0;
    const ceilingMs = Math.min(capMs, baseMs * 2 ** attemptIndex);
    return Math.floor(random() * ceilingMs);
  };
}
