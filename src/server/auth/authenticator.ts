import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { CloseCode } from '../../protocol/closeCodes.js';
import type { AuthenticateMessage, RefreshRequest, SessionNotification } from '../../protocol/messages.js';
import { AuthRefusalReason } from '../../protocol/messages.js';
import type { RevocationGate } from '../cluster/revocationGate.js';
import type { CoreHandlerOptions } from '../options.js';
import { AuthHooks, RevokedInFlight } from './hooks.js';
import type { AuthHost, AuthRequest } from './host.js';
import { closeCodeFor } from './host.js';
import { ReauthenticationLimiter } from './reauthenticationLimiter.js';
import type { SessionChange } from './sessionChanges.js';
import { SessionChanges } from './sessionChanges.js';
import {
  AuthRefusal,
  checkSession,
  expiryOf,
  isNotFresher,
  notFresher,
  SessionMisuseError,
  withRefusalReason,
} from './sessionChecks.js';
import type { SessionClockEvents } from './sessionClock.js';
import { SessionClock } from './sessionClock.js';
import type { SessionBase } from './types.js';
import { authDefaults } from './types.js';

export type { AuthHost, AuthRequest } from './host.js';
export { closeCodeFor } from './host.js';

/**
 * The auth lifecycle of one connection: connect-time `authenticate` + `createContext`, in-band
 * re-authentication, expiry (refresh request, stale, close), server-requested refreshes and
 * `revalidate`. It owns the session; the connection owns the socket and the calls. Every
 * session change goes through one {@link SessionChanges} queue.
 */
export class Authenticator<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase> implements SessionClockEvents {
  private current: TSession | null = null;
  private params: Record<string, string> | null = null;
  /** The expiry timers; made for the first session that expires. */
  private clock: SessionClock | null = null;
  /** Aborted when the connection ends; made when `createContext` first reads `info.signal`. */
  private closedController: AbortController | null = null;
  private disposed = false;
  private readonly changes: SessionChanges<TSession>;
  /** Made at the first in-band authentication. */
  private limiter: ReauthenticationLimiter | null = null;
  private readonly hooks: AuthHooks<TRouter, TReq, TRes, TSession>;
  private revalidating = false;
  /** The `seq` of the last `lanyard.refresh` sent on this connection. */
  private refreshSeq = 0;
  /** The pending `requestReauthentication()`: its refresh's `seq` and its 4408 deadline. */
  private requested: { seq: number; timer: ReturnType<typeof setTimeout> } | null = null;

  constructor(
    private readonly options: CoreHandlerOptions<TRouter, TReq, TRes, TSession>,
    private readonly request: AuthRequest<TReq, TRes>,
    private readonly host: AuthHost,
    private readonly authTimeoutMs: number,
    revocations: RevocationGate<TSession> | null,
  ) {
    this.changes = new SessionChanges(authTimeoutMs);
    this.hooks = new AuthHooks(options, request, this, revocations);
  }

  /** The current session (null before authentication, or without `authenticate`). */
  get session(): TSession | null {
    return this.current;
  }

  /** Whether the session has expired by now. Reads the clock only for a session that expires. */
  hasExpired(): boolean {
    return this.clock !== null && this.clock.isExpired();
  }

  /**
   * The signal `createContext` gets as `info.signal`: aborted when the connection ends. Made on
   * first use, since most contexts never read it (an `AbortSignal` costs about 0.5 KB).
   */
  closedSignal(): AbortSignal {
    if (this.closedController === null) {
      this.closedController = new AbortController();
      if (this.disposed) this.closedController.abort();
    }
    return this.closedController.signal;
  }

  /** SessionClockEvents: `refreshAheadMs` before expiry, ask for fresh credentials. */
  refreshDue(expiresAt: number): void {
    this.askForCredentials('expiring', expiresAt + this.expiryGraceMs() - Date.now());
  }

  /** SessionClockEvents: the session expired; calls wait for a refresh. */
  expired(): void {
    this.host.stale();
  }

  /** SessionClockEvents: the grace after expiry passed without a refresh. */
  graceOver(): void {
    this.host.close(CloseCode.SessionExpired, 'session expired');
  }

  /** Connect-time: authenticate, create the context, announce the session. */
  connect(connectionParams: Record<string, string> | null): Promise<void> {
    // No deadline of its own: the connection's authentication deadline bounds it (and closing aborts it).
    return this.changes.run(async (change) => {
      let session: TSession | null;
      let ctx: unknown;
      try {
        session = await this.hooks.authenticate(connectionParams, null, change);
        if (session !== null) await this.hooks.checkRevocations(session, change, (cause) => this.reportUnchecked(cause));
        ctx = await change.wait(this.hooks.createContext(connectionParams, session));
        if (session !== null) this.hooks.admit(session, change);
      } catch (cause) {
        if (!this.host.isOpen) return;
        if (cause instanceof RevokedInFlight) this.host.close(CloseCode.Revoked, cause.reason);
        else this.host.refuse(this.loud(cause));
        return;
      }
      if (!this.host.isOpen) return;
      this.install(session, ctx, connectionParams);
      this.announce();
      this.host.ready(false);
    }, false);
  }

  /** In band: the client's `lanyard.authenticate`. Answered on its id. */
  reauthenticate(message: AuthenticateMessage): Promise<void> {
    const now = Date.now();
    this.limiter ??= new ReauthenticationLimiter(this.options.maxReauthenticationsPerMinute ?? authDefaults.maxReauthenticationsPerMinute, now);
    const verdict = this.limiter.take(now);
    if (verdict === 'close') {
      this.host.close(CloseCode.RateLimited, 'too many in-band authentications');
      return Promise.resolve();
    }
    if (verdict === 'refuse') {
      const limit = this.limiter.perMinute;
      this.answerRefusal(message, new AuthRefusal(AuthRefusalReason.RateLimited, 'TOO_MANY_REQUESTS', `More than ${limit} in-band authentications a minute`));
      return Promise.resolve();
    }
    // Without `authenticate` there is no session to change: as in stock tRPC the connection keeps
    // the context it was created with, and nothing re-runs.
    if (!this.hooks.enabled) {
      this.host.send(this.host.frames.message({ id: message.id, result: { type: 'data', data: { expiresAt: null } } }));
      return Promise.resolve();
    }
    return this.change((change) => this.reauthenticateNow(message, change));
  }

  /** The server wants fresh credentials now (e.g. a role changed): only an answer sent after this counts. */
  requestReauthentication(): void {
    const seq = this.askForCredentials('requested', this.authTimeoutMs);
    clearTimeout(this.requested?.timer);
    const timer = setTimeout(
      () => this.host.close(CloseCode.AuthTimeout, 'no fresh credentials after the server asked for them'),
      this.authTimeoutMs,
    );
    this.requested = { seq, timer };
  }

  /** The periodic server-side check; see `revalidate` in the options. */
  revalidate(): Promise<void> {
    const check = this.options.revalidate;
    if (!check || this.current === null || this.revalidating || !this.host.isOpen) return Promise.resolve();
    this.revalidating = true;
    return this.change(async (change) => {
      try {
        await this.revalidateNow(check, change);
      } finally {
        this.revalidating = false;
      }
    });
  }

  /**
   * Records a `revoke()` for the session changes pending on this connection, so that a session
   * still being authenticated is checked against it before it goes live. False when none is pending.
   */
  noteRevocation(filter: (session: TSession) => boolean, reason: string): boolean {
    return this.changes.noteRevocation(filter, reason);
  }

  /** The connection ended: stop every timer and abort what `authenticate` and `createContext` were given. */
  dispose(): void {
    this.disposed = true;
    this.clock?.clear();
    clearTimeout(this.requested?.timer);
    this.requested = null;
    this.changes.dispose();
    this.closedController?.abort();
  }

  /**
   * Queues a session change. Whatever way it ends, subscriptions an earlier change held (a burst
   * of grant changes re-runs them once, under the last) are re-run once nothing else waits.
   */
  private change(task: (change: SessionChange<TSession>) => Promise<void>): Promise<void> {
    return this.changes.run(async (change) => {
      await task(change);
      await this.settleSubscriptions();
    });
  }

  private async reauthenticateNow(message: AuthenticateMessage, change: SessionChange<TSession>): Promise<void> {
    const { connectionParams, answers } = message.params;
    let session: TSession;
    let ctx: unknown;
    try {
      session = (await this.hooks.authenticate(connectionParams, this.current, change))!;
      // An answer to `requestReauthentication()` is a re-check of the grant, not a bid for a later expiry.
      const answersRequest = this.requested !== null && answers !== undefined && answers >= this.requested.seq;
      if (!answersRequest && isNotFresher(this.current, session, this.hooks.sameGrant(this.current, session))) throw notFresher();
      await this.hooks.checkRevocations(session, change, (cause) => this.reportUnchecked(cause));
      ctx = await change.wait(this.hooks.createContext(connectionParams, session));
      this.hooks.admit(session, change);
    } catch (cause) {
      if (!this.host.isOpen) return;
      if (cause instanceof RevokedInFlight) {
        this.host.close(CloseCode.Revoked, cause.reason);
        return;
      }
      this.answerRefusal(message, this.loud(cause));
      // A refused principal may not stay; refused credentials leave the session as it was.
      if (closeCodeFor(cause) === CloseCode.Forbidden) this.host.close(CloseCode.Forbidden, 'FORBIDDEN');
      return;
    }
    if (!this.host.isOpen) return;
    if (this.requested && answers !== undefined && answers >= this.requested.seq) {
      clearTimeout(this.requested.timer);
      this.requested = null;
    }
    this.adopt(session, ctx, connectionParams);
    await this.settleSubscriptions();
    this.host.send(this.host.frames.message({ id: message.id, result: { type: 'data', data: { expiresAt: expiryOf(session) } } }));
  }

  private async revalidateNow(check: NonNullable<typeof this.options.revalidate>, change: SessionChange<TSession>): Promise<void> {
    const session = this.current;
    if (session === null || !this.host.isOpen) return;
    try {
      const result = await change.wait(check(session));
      if (!this.host.isOpen || this.current !== session) return;
      if (result === null) {
        this.host.close(CloseCode.Revoked, 'session revoked');
        return;
      }
      if (result === session) return;
      const replacement = checkSession<TSession>(result, 'revalidate');
      await this.hooks.checkRevocations(replacement, change, (cause) => this.reportUnchecked(cause));
      const ctx = await change.wait(this.hooks.createContext(this.params, replacement));
      this.hooks.admit(replacement, change);
      if (!this.host.isOpen || this.current !== session) return;
      this.adopt(replacement, ctx, this.params);
      this.announce();
    } catch (cause) {
      if (!this.host.isOpen) return;
      if (cause instanceof RevokedInFlight) {
        this.host.close(CloseCode.Revoked, cause.reason);
        return;
      }
      const code = closeCodeFor(cause);
      this.host.errors.report(this.loud(cause), 'unknown', undefined, undefined);
      if (code !== CloseCode.InternalError) this.host.close(code, cause instanceof TRPCError ? cause.code : 'refused');
    }
  }

  private install(session: TSession | null, ctx: unknown, connectionParams: Record<string, string> | null): void {
    this.current = session;
    this.params = connectionParams;
    this.host.setContext(ctx);
    const expiresAt = expiryOf(session);
    if (expiresAt === null && this.clock === null) return;
    this.clock ??= new SessionClock(this.options.refreshAheadMs ?? authDefaults.refreshAheadMs, this.expiryGraceMs(), this);
    this.clock.arm(expiresAt, Date.now());
  }

  /**
   * A new session replaces the current one: new calls get `ctx` at once. When it grants
   * something else, live subscriptions hold their events until {@link settleSubscriptions}
   * re-runs them, and calls that waited under the old session are refused.
   */
  private adopt(session: TSession, ctx: unknown, connectionParams: Record<string, string> | null): void {
    const grantChanged = !this.hooks.sameGrant(this.current, session);
    this.install(session, ctx, connectionParams);
    if (grantChanged) this.host.suspendSubscriptions();
    this.host.ready(grantChanged);
  }

  /**
   * Re-runs held subscriptions once the queue of session changes is drained (a burst of changes
   * re-runs them once, under the last), and never under an expired session.
   */
  private async settleSubscriptions(): Promise<void> {
    if (!this.host.subscriptionsSuspended || this.changes.waiting > 0 || this.hasExpired() || !this.host.isOpen) return;
    await this.host.reauthorizeSubscriptions();
  }

  private answerRefusal(message: AuthenticateMessage, cause: unknown): void {
    const { frames, errors } = this.host;
    // Extension frames are never transformed: the client reads them without the router's transformer.
    const shape = withRefusalReason(errors.report(cause, 'unknown', undefined, undefined, false), cause);
    this.host.send(frames.error(frames.head(message.id, undefined), shape));
  }

  /** Revocation records that could not be read, for a session admitted anyway (`onRevocationsUnavailable: 'admit'`). */
  private reportUnchecked(cause: unknown): void {
    this.host.errors.report(cause, 'unknown', undefined, undefined);
  }

  private expiryGraceMs(): number {
    return this.options.expiryGraceMs ?? authDefaults.expiryGraceMs;
  }

  /** A mistake in the app's hooks is logged even without `onError`. */
  private loud(cause: unknown): unknown {
    if (cause instanceof SessionMisuseError && !this.options.onError) console.error('[trpc-lanyard]', cause.message);
    return cause;
  }

  private announce(): void {
    if (!this.request.speaksLanyard) return;
    const notification: SessionNotification = { id: null, method: 'lanyard.session', params: { expiresAt: expiryOf(this.current) } };
    this.host.send(this.host.frames.message(notification));
  }

  /** Asks a lanyard client for credentials, or a stock client to reconnect (it re-sends its params); returns the `seq`. */
  private askForCredentials(reason: RefreshRequest['params']['reason'], deadlineMs: number): number {
    if (!this.request.speaksLanyard) {
      this.host.send(this.host.frames.message({ id: null, method: 'reconnect' }));
      return this.refreshSeq;
    }
    const refresh: RefreshRequest = {
      id: null,
      method: 'lanyard.refresh',
      params: { reason, expiresAt: this.clock?.expiry ?? null, deadlineMs: Math.max(0, Math.round(deadlineMs)), seq: ++this.refreshSeq },
    };
    this.host.send(this.host.frames.message(refresh));
    return this.refreshSeq;
  }
}
