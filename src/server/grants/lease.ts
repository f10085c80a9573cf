import type { GrantTerms } from './carrier.js';

/** setTimeout's largest delay; a longer wait is re-armed when it fires. */
const MAX_DELAY_MS = 2_147_483_647;

/**
 * Where one subscription's grant stands. Every change goes through {@link GrantLease.moveTo}:
 *
 * ```
 * Valid ──refreshAheadMs before expiresAt──► Asked ──expiresAt──► Held ──graceMs──► Ended
 *   ▲                                           │                  │
 *   └──────────── a fresh grant (arm) ──────────┴──────────────────┘
 * ```
 * A grant without `expiresAt` stays Valid. Ended is final (the subscription ends).
 */
export const GrantPhase = {
  /** Events flow; a timer waits for the refresh point. */
  Valid: 'valid',
  /** A fresh token was asked for (or, for a client that cannot be asked, the subscription ends now). Events still flow. */
  Asked: 'asked',
  /** `expiresAt` passed: events are held (dropped, replayed after a refresh) until the grace ends. */
  Held: 'held',
  /** The grace ended or the lease was let go; nothing more happens. */
  Ended: 'ended',
} as const;
export type GrantPhase = (typeof GrantPhase)[keyof typeof GrantPhase];

const allowed: Record<GrantPhase, readonly GrantPhase[]> = {
  [GrantPhase.Valid]: [GrantPhase.Valid, GrantPhase.Asked, GrantPhase.Held, GrantPhase.Ended],
  [GrantPhase.Asked]: [GrantPhase.Valid, GrantPhase.Asked, GrantPhase.Held, GrantPhase.Ended],
  [GrantPhase.Held]: [GrantPhase.Valid, GrantPhase.Asked, GrantPhase.Ended],
  [GrantPhase.Ended]: [],
};

/** What a lease tells about its subscription (`owner`), each at most once per grant. */
export interface GrantLeaseEvents<TOwner> {
  /** The refresh point: ask the client for a fresh token (or end the subscription, for a client that cannot be asked). */
  refreshDue(owner: TOwner, lease: GrantLease<TOwner>): void;
  /** `expiresAt + graceMs` passed without a fresh grant. */
  graceOver(owner: TOwner): void;
}

/** The timer callback: one function for every lease, no closure per timer. */
function fireLease(lease: GrantLease<unknown>, atMs: number): void {
  lease.fire(atMs);
}

/**
 * The grant of one subscription: its terms, one timer at a time for the next of refresh point,
 * expiry and end of grace, and the refresh request that is pending. Nothing runs per event but
 * {@link deliverable}, which reads the clock only for a grant that expires.
 */
export class GrantLease<TOwner> {
  private state: GrantPhase = GrantPhase.Valid;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current: GrantTerms;
  /** The expiry a fresh token was already asked for: re-arming with it never asks again. */
  private askedFor: number | null = null;
  /** The `seq` of the pending refresh request, or null. */
  pendingSeq: number | null = null;
  /** A fresh token is being verified (at most one at a time). */
  verifying = false;
  /** Tokens verified for the pending request so far (bounded: see `MAX_GRANT_ATTEMPTS`). */
  attempts = 0;

  constructor(
    /** The subscription whose grant this is. */
    private readonly owner: TOwner,
    terms: GrantTerms,
    private readonly events: GrantLeaseEvents<TOwner>,
  ) {
    this.current = terms;
    this.arm(terms);
  }

  get phase(): GrantPhase {
    return this.state;
  }

  get terms(): GrantTerms {
    return this.current;
  }

  /** Starts timing a grant (a new one, or the same one re-verified by a re-run). */
  arm(terms: GrantTerms): void {
    if (this.state === GrantPhase.Ended) return;
    this.clearTimer();
    this.current = terms;
    const { expiresAt } = terms;
    const nowMs = Date.now();
    if (expiresAt === null) {
      this.pendingSeq = null;
      this.moveTo(GrantPhase.Valid);
      return;
    }
    if (expiresAt === this.askedFor) {
      // The same grant, re-verified (a session change re-ran the subscription): already asked about.
      this.moveTo(GrantPhase.Asked);
      this.schedule(expiresAt, nowMs);
      return;
    }
    this.pendingSeq = null;
    this.attempts = 0;
    const aheadMs = Math.min(terms.refreshAheadMs, Math.max(0, expiresAt - nowMs) / 2);
    this.moveTo(GrantPhase.Valid);
    this.schedule(expiresAt - aheadMs, nowMs);
  }

  /**
   * Whether an event may go out now: not from `expiresAt` on, even when its timer has not fired
   * yet (a busy loop); the lease is then Held at once.
   */
  deliverable(): boolean {
    if (this.state === GrantPhase.Held || this.state === GrantPhase.Ended) return false;
    const { expiresAt } = this.current;
    if (expiresAt === null || Date.now() < expiresAt) return true;
    this.hold(expiresAt);
    return false;
  }

  /** Lets go: no timer, no event, ever again. */
  end(): void {
    if (this.state === GrantPhase.Ended) return;
    this.clearTimer();
    this.pendingSeq = null;
    this.moveTo(GrantPhase.Ended);
  }

  /** @internal The timer for `atMs` fired. */
  fire(atMs: number): void {
    this.timer = undefined;
    const nowMs = Date.now();
    if (nowMs < atMs) {
      this.schedule(atMs, nowMs); // a wait longer than setTimeout allows
      return;
    }
    const { expiresAt } = this.current;
    if (expiresAt === null) return;
    switch (this.state) {
      case GrantPhase.Valid:
        this.askedFor = expiresAt;
        this.moveTo(GrantPhase.Asked);
        this.schedule(expiresAt, nowMs);
        this.events.refreshDue(this.owner, this);
        return;
      case GrantPhase.Asked:
        this.hold(expiresAt);
        return;
      case GrantPhase.Held:
        this.end();
        this.events.graceOver(this.owner);
        return;
      case GrantPhase.Ended:
        return;
    }
  }

  /** From `expiresAt`: hold events until the grace ends; ask for a fresh token now if the refresh point was skipped (a busy loop). */
  private hold(expiresAt: number): void {
    this.clearTimer();
    this.moveTo(GrantPhase.Held);
    this.schedule(expiresAt + this.current.graceMs, Date.now());
    if (this.askedFor !== expiresAt) {
      this.askedFor = expiresAt;
      this.events.refreshDue(this.owner, this);
    }
  }

  /** The one way the phase changes; a move the diagram does not have is a bug, never input. */
  private moveTo(next: GrantPhase): void {
    if (!allowed[this.state].includes(next)) throw new Error(`trpc-lanyard: no grant transition from ${this.state} to ${next}`);
    this.state = next;
  }

  private schedule(atMs: number, nowMs: number): void {
    const delayMs = Math.max(0, atMs - nowMs);
    this.timer = setTimeout(fireLease, Math.min(delayMs, MAX_DELAY_MS), this, atMs);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
