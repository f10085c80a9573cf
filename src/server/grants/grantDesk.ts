import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import type { RequestId } from '../../protocol/messages.js';
import type { GrantMessage, GrantRefreshRequest } from '../../protocol/grants.js';
import type { FrameHead } from '../frames.js';
import type { CallScope } from '../scope.js';
import type { GrantTerms, VerifiedGrant } from './carrier.js';
import { grantExpired, grantReasonOf } from './grantError.js';
import type { GrantLeaseEvents } from './lease.js';
import { GrantLease, GrantPhase } from './lease.js';

/** What the desk keeps on each subscription of its registry. */
export interface GrantedSubscription {
  readonly head: FrameHead;
  readonly path: string;
  readonly stopped: boolean;
  /** The signal of the procedure's current run: aborted when the subscription ends. */
  readonly signal: AbortSignal;
  /** The token for the next run: from `params.grant`, then each accepted refresh. */
  grantToken: string | undefined;
  /** A token a refresh verified, for the next run to take without verifying again. */
  preverified: VerifiedGrant | undefined;
  /** The grant's lease, once `requireGrant` verified one. */
  lease: GrantLease<GrantedSubscription> | null;
}

/** What the desk needs from its subscription registry. */
export interface GrantDeskHost<TRouter extends AnyRouter> {
  readonly scope: CallScope<TRouter>;
  /** Whether the client can be asked for a fresh token (it negotiated our extensions). */
  readonly negotiated: boolean;
  /** The live subscription with request id `id`. */
  find(id: RequestId): GrantedSubscription | undefined;
  /** Ends `sub` on purpose with `error` (and its grant reason), then `stopped`. */
  endWithGrantError(sub: GrantedSubscription, error: TRPCError): void;
  /** Re-runs `sub` from its last tracked event under its new grant (its events were held). */
  rerun(sub: GrantedSubscription): void;
}

/**
 * The grants of one connection's subscriptions, made on the connection's first grant: times each
 * verified grant with a {@link GrantLease}, asks for fresh tokens (or, for a client that cannot be
 * asked, ends the subscription), and verifies the tokens the client presents (`lanyard.grant`).
 * PROTOCOL.md § 5.2. (Each subscription is its own `GrantCarrier`: see `subscriptions.ts`.)
 */
export class GrantDesk<TRouter extends AnyRouter> {
  private seq = 0;
  /** The events of every lease of this connection: one object, no closure per lease. */
  private readonly leaseEvents: GrantLeaseEvents<GrantedSubscription>;

  constructor(private readonly host: GrantDeskHost<TRouter>) {
    this.leaseEvents = {
      refreshDue: (sub, lease) => this.refreshDue(sub, lease),
      graceOver: (sub) => this.host.endWithGrantError(sub, grantExpired(sub.path)),
    };
  }

  /** `sub` stopped: its lease lets go. */
  release(sub: GrantedSubscription): void {
    sub.lease?.end();
  }

  /**
   * The client's `lanyard.grant`: a fresh token answering the pending refresh of one subscription.
   * Verified (at most one at a time per subscription), then answered on the message's own id; a
   * refusal also ends the subscription. Anything that answers no pending request is refused with
   * `BAD_REQUEST` and runs nothing.
   */
  async present(message: GrantMessage): Promise<void> {
    const { host } = this;
    const { subscription, token, answers } = message.params;
    const sub = host.find(subscription);
    const lease = sub?.lease ?? null;
    if (sub === undefined || lease === null || lease.phase === GrantPhase.Ended) {
      this.answerError(message.id, badGrant(`no live subscription ${String(subscription)} with a grant on this connection`));
      return;
    }
    if (lease.pendingSeq !== answers) {
      this.answerError(message.id, badGrant(`no grant refresh ${answers} is pending for subscription ${String(subscription)}`));
      return;
    }
    if (lease.verifying) {
      this.answerError(message.id, badGrant(`a grant for subscription ${String(subscription)} is already being verified`));
      return;
    }
    if (lease.attempts >= MAX_GRANT_ATTEMPTS) {
      this.answerError(message.id, badGrant(`no more than ${MAX_GRANT_ATTEMPTS} tokens are verified per refresh request`));
      return;
    }
    lease.attempts++;
    lease.verifying = true;
    let verified: VerifiedGrant;
    const terms = lease.terms;
    try {
      verified = await terms.reverify(token, sub.signal);
    } catch (cause) {
      lease.verifying = false;
      if (sub.stopped || sub.lease !== lease) {
        this.answerError(message.id, badGrant(`subscription ${String(subscription)} ended meanwhile`));
        return;
      }
      this.answerError(message.id, cause);
      if (grantReasonOf(cause) !== undefined) host.endWithGrantError(sub, cause as TRPCError);
      return;
    }
    lease.verifying = false;
    if (sub.stopped || sub.lease !== lease || (lease.phase as GrantPhase) === GrantPhase.Ended) {
      this.answerError(message.id, badGrant(`subscription ${String(subscription)} ended meanwhile`));
      return;
    }
    sub.grantToken = token;
    if (lease.terms !== terms) {
      // A re-run (a session change) verified the old token under a new context meanwhile: the new token must pass that context too.
      sub.preverified = undefined;
      host.rerun(sub);
    } else if (lease.phase === GrantPhase.Held) {
      // Its events were held: re-run it from its last tracked event, which replays them, under the grant just verified.
      sub.preverified = verified;
      host.rerun(sub);
    } else {
      lease.arm({ ...terms, expiresAt: verified.expiresAt });
    }
    host.scope.send(host.scope.frames.message({ id: message.id, result: { type: 'data', data: { expiresAt: verified.expiresAt } } }));
  }

  /** A run of `sub`'s procedure verified a grant: time it (a new lease, or the same one re-armed). */
  lease(sub: GrantedSubscription, terms: GrantTerms): void {
    if (sub.lease === null) {
      sub.lease = new GrantLease(sub, terms, this.leaseEvents);
    } else {
      sub.lease.arm(terms);
    }
  }

  private refreshDue(sub: GrantedSubscription, lease: GrantLease<GrantedSubscription>): void {
    const { host } = this;
    const { expiresAt, graceMs } = lease.terms;
    if (!host.negotiated || expiresAt === null) {
      host.endWithGrantError(sub, grantExpired(sub.path));
      return;
    }
    const seq = ++this.seq;
    lease.pendingSeq = seq;
    const request: GrantRefreshRequest = {
      id: null,
      method: 'lanyard.grant.refresh',
      params: { subscription: sub.head.id, reason: 'expiring', expiresAt, deadlineMs: Math.max(0, expiresAt + graceMs - Date.now()), seq },
    };
    host.scope.send(host.scope.frames.message(request));
  }

  /** An error answer to a `lanyard.grant` (an extension frame: never transformed). */
  private answerError(id: RequestId, cause: unknown): void {
    const { scope } = this.host;
    const shape = scope.errors.report(cause, 'unknown', undefined, undefined, false);
    scope.send(scope.frames.error(scope.frames.head(id, undefined), shape));
  }
}

/**
 * The most tokens verified for one refresh request (answers that failed without a refusal may be
 * sent again): a client cannot make the server call `verify` without end.
 */
export const MAX_GRANT_ATTEMPTS = 5;

function badGrant(message: string): TRPCError {
  return new TRPCError({ code: 'BAD_REQUEST', message: `lanyard.grant: ${message}` });
}
