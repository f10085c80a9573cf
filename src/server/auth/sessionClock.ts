/** setTimeout's largest delay; a longer wait is re-armed when it fires. */
const MAX_DELAY_MS = 2_147_483_647;

/** The timer callback: one function for every clock, no closure per timer. */
function fireClock(clock: SessionClock, atMs: number): void {
  clock.fire(atMs);
}

/** What the clock tells its connection, each at most once per armed session. */
export interface SessionClockEvents {
  /** `refreshAheadMs` before expiry: ask for fresh credentials. */
  refreshDue(expiresAt: number): void;
  /** `expiresAt` passed: new calls must wait. */
  expired(): void;
  /** `expiresAt + expiryGraceMs` passed without a refresh: end the connection. */
  graceOver(): void;
}

/**
 * The expiry timers of one connection: at most one pending timer at a time, re-armed for the
 * next of refresh-due, expired and grace-over. Nothing runs per message.
 */
export class SessionClock {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private expiresAt: number | null = null;
  private stage: 'refresh' | 'expiry' | 'grace' | 'done' = 'done';
  /** The expiry a refresh was already asked for: re-arming with it never asks again. */
  private askedFor: number | null = null;

  constructor(
    private readonly refreshAheadMs: number,
    private readonly expiryGraceMs: number,
    private readonly events: SessionClockEvents,
  ) {}

  /** When the current session expires, or null. */
  get expiry(): number | null {
    return this.expiresAt;
  }

  /** Whether the session has expired by now. Reads the clock only for a session that expires (it runs per call). */
  isExpired(): boolean {
    return this.expiresAt !== null && Date.now() >= this.expiresAt;
  }

  /**
   * Starts timing a session that was issued at `nowMs` and expires at `expiresAt` (null: never).
   * At most one refresh request per expiry: a session re-armed with the expiry already asked
   * about goes straight to waiting for it (re-computing "half the remaining lifetime" each time
   * would ask again and again at halving intervals).
   */
  arm(expiresAt: number | null, nowMs: number): void {
    this.clear();
    this.expiresAt = expiresAt;
    if (expiresAt === null) return;
    if (expiresAt === this.askedFor) {
      this.stage = 'expiry';
      this.schedule(expiresAt, nowMs);
      return;
    }
    const lifetimeMs = Math.max(0, expiresAt - nowMs);
    const aheadMs = Math.min(this.refreshAheadMs, lifetimeMs / 2);
    this.stage = 'refresh';
    this.schedule(expiresAt - aheadMs, nowMs);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stage = 'done';
  }

  private schedule(atMs: number, nowMs: number): void {
    const delayMs = Math.max(0, atMs - nowMs);
    this.timer = setTimeout(fireClock, Math.min(delayMs, MAX_DELAY_MS), this, atMs);
  }

  /** @internal The timer for `atMs` fired. */
  fire(atMs: number): void {
    this.timer = undefined; // a fired timer is not kept
    const nowMs = Date.now();
    if (nowMs < atMs) {
      this.schedule(atMs, nowMs); // a wait longer than setTimeout allows
      return;
    }
    const expiresAt = this.expiresAt;
    if (expiresAt === null) return;
    switch (this.stage) {
      case 'refresh':
        this.askedFor = expiresAt;
        this.stage = 'expiry';
        this.schedule(expiresAt, nowMs);
        this.events.refreshDue(expiresAt);
        return;
      case 'expiry':
        this.stage = 'grace';
        this.schedule(expiresAt + this.expiryGraceMs, nowMs);
        this.events.expired();
        return;
      case 'grace':
        this.stage = 'done';
        this.events.graceOver();
        return;
      case 'done':
        return;
    }
  }
}
