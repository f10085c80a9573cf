/** What the limiter says about one in-band authentication. */
export type ReauthenticationVerdict = 'run' | 'refuse' | 'close';

/**
 * Paces `lanyard.authenticate` on one connection: a token bucket holding `perMinute`
 * authentications, refilled continuously at `perMinute` a minute. One over the budget is
 * refused (`rate-limited`) without running anything; more than `perMinute` refusals in a row
 * end the connection (4429). One clock read per frame, no timer.
 */
export class ReauthenticationLimiter {
  private tokens: number;
  private refilledAtMs: number;
  private refusedInARow = 0;

  constructor(
    /** The budget: authentications a minute (`maxReauthenticationsPerMinute`). */
    readonly perMinute: number,
    nowMs: number,
  ) {
    this.tokens = perMinute;
    this.refilledAtMs = nowMs;
  }

  take(nowMs: number): ReauthenticationVerdict {
    if (this.perMinute === Infinity) return 'run';
    const elapsedMs = Math.max(0, nowMs - this.refilledAtMs);
    this.tokens = Math.min(this.perMinute, this.tokens + (elapsedMs * this.perMinute) / 60_000);
    this.refilledAtMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.refusedInARow = 0;
      return 'run';
    }
    this.refusedInARow++;
    return this.refusedInARow > this.perMinute ? 'close' : 'refuse';
  }
}
