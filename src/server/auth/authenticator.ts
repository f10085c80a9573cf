import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { CloseCode } from '../../protocol/closeCodes.js';
import type { AuthenticateMessage, RefreshRequest, SessionNotification } from '../../protocol/messages.js';
import { AuthRefusalReason } from '../../protocol/messages.js';
import type { ErrorReporter } from '../errors.js';
import type { Frame, FrameBuilder } from '../frames.js';
import type { CoreHandlerOptions } from '../options.js';
import { ReauthenticationLimiter } from './reauthenticationLimiter.js';
import { defaultSameAuthorization } from './sameAuthorization.js';
import type { SessionChange } from './sessionChanges.js';
import { SessionChanges } from './sessionChanges.js';
import {
  AuthRefusal,
  checkSession,
  expiredCredentials,
  expiryOf,
  hasExpiredBy,
  isNotFresher,
  notFresher,
  SessionMisuseError,
  withRefusalReason,
} from './sessionChecks.js';
import { SessionClock } from './sessionClock.js';
import type { SessionBase } from './types.js';
import { authDefaults } from './types.js';

/** What the authenticator needs from its connection. */
export interface AuthHost {
  readonly frames: FrameBuilder;
  readonly errors: Pick<ErrorReporter<AnyRouter, unknown>, 'report'>;
  readonly isOpen: boolean;
  /** The context calls run with from now on. */
  setContext(ctx: unknown): void;
  send(frame: Frame): void;
  close(code: number, reason: string): void;
  /** Connect-time authentication failed: answer the waiting calls, then close. */
  refuse(cause: unknown): void;
  /**
   * A valid session is in place: run the calls that wait. `grantChanged`: the calls waiting were
   * sent under a session that granted something else, and are refused instead.
   */
  ready(grantChanged: boolean): void;
  /** The session expired: let new calls wait. */
  stale(): void;
  /** Hold every live subscription's events until it is re-run ({@link reauthorizeSubscriptions}). */
  suspendSubscriptions(): void;
  /** Re-run every live subscription under the new context. */
  reauthorizeSubscriptions(): Promise<void>;
  /** Subscriptions are held (an expiry, or a grant change) and must be re-run. */
  readonly subscriptionsSuspended: boolean;
}

/** What the authenticator knows of the upgrade request. */
export interface AuthRequest<TReq, TRes> {
  readonly req: TReq;
  readonly res: TRes;
  readonly url: URL | null;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly cookies: Readonly<Record<string, string>>;
  readonly queryToken: string | null;
  readonly speaksLanyard: boolean;
}

const closeCodeByErrorCode: Partial<Record<TRPCError['code'], CloseCode>> = {
  UNAUTHORIZED: CloseCode.Unauthorized,
  FORBIDDEN: CloseCode.Forbidden,
};

/** The close code for a refused authentication: 4401, 4403, or 4500 for anything else. */
export function closeCodeFor(cause: unknown): CloseCode {
  return cause instanceof TRPCError ? (closeCodeByErrorCode[cause.code] ?? CloseCode.InternalError) : CloseCode.InternalError;
}

/** Thrown inside a change whose new session a `revoke()` issued meanwhile matches. */
class RevokedInFlight extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * The auth lifecycle of one connection: connect-time `authenticate` + `createContext`, in-band
 * re-authentication, expiry (refresh request, stale, close), server-requested refreshes and
 * `revalidate`. It owns the session; the connection owns the socket and the calls. Every
 * session change goes through one {@link SessionChanges} queue.
 */
export class Authenticator<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase> {
  private current: TSession | null = null;
  private params: Record<string, string> | null = null;
  private readonly clock: SessionClock;
  private readonly aborter = new AbortController();
  private readonly changes: SessionChanges<TSession>;
  private readonly limiter: ReauthenticationLimiter;
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
  ) {
    const expiryGraceMs = options.expiryGraceMs ?? authDefaults.expiryGraceMs;
    this.clock = new SessionClock(options.refreshAheadMs ?? authDefaults.refreshAheadMs, expiryGraceMs, {
      refreshDue: (expiresAt) => this.askForCredentials('expiring', expiresAt + expiryGraceMs - Date.now()),
      expired: () => host.stale(),
      graceOver: () => host.close(CloseCode.SessionExpired, 'session expired'),
    });
    this.changes = new SessionChanges(this.aborter.signal, authTimeoutMs);
    this.limiter = new ReauthenticationLimiter(
      options.maxReauthenticationsPerMinute ?? authDefaults.maxReauthenticationsPerMinute,
      Date.now(),
    );
  }

  /** The current session (null before authentication, or without `authenticate`). */
  get session(): TSession | null {
    return this.current;
  }

  /** Whether the session has expired by now. Reads the clock only for a session that expires. */
  hasExpired(): boolean {
    return this.clock.isExpired();
  }

  /** Connect-time: authenticate, create the context, announce the session. */
  connect(connectionParams: Record<string, string> | null): Promise<void> {
    return this.changes.run(async (change) => {
      let session: TSession | null;
      let ctx: unknown;
      try {
        session = await this.authenticate(connectionParams, null, change);
        ctx = await change.wait(this.createContext(connectionParams, session));
        if (session !== null) this.admit(session, change);
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
    });
  }

  /** In band: the client's `lanyard.authenticate`. Answered on its id. */
  reauthenticate(message: AuthenticateMessage): Promise<void> {
    const verdict = this.limiter.take(Date.now());
    if (verdict === 'close') {
      this.host.close(CloseCode.RateLimited, 'too many in-band authentications');
      return Promise.resolve();
    }
    if (verdict === 'refuse') {
      const limit = this.options.maxReauthenticationsPerMinute ?? authDefaults.maxReauthenticationsPerMinute;
      this.answerRefusal(message, new AuthRefusal(AuthRefusalReason.RateLimited, 'TOO_MANY_REQUESTS', `More than ${limit} in-band authentications a minute`));
      return Promise.resolve();
    }
    // Without `authenticate` there is no session to change: as in stock tRPC the connection keeps
    // the context it was created with, and nothing re-runs.
    if (!this.options.authenticate) {
      this.host.send(this.host.frames.message({ id: message.id, result: { type: 'data', data: { expiresAt: null } } }));
      return Promise.resolve();
    }
    return this.changes.run((change) => this.reauthenticateNow(message, change));
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
    return this.changes.run(async (change) => {
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
    this.clock.clear();
    clearTimeout(this.requested?.timer);
    this.requested = null;
    this.aborter.abort();
  }

  private async reauthenticateNow(message: AuthenticateMessage, change: SessionChange<TSession>): Promise<void> {
    const { connectionParams, answers } = message.params;
    let session: TSession;
    let ctx: unknown;
    try {
      session = (await this.authenticate(connectionParams, this.current, change))!;
      if (isNotFresher(this.current, session, this.sameGrant(this.current, session))) throw notFresher();
      ctx = await change.wait(this.createContext(connectionParams, session));
      this.admit(session, change);
    } catch (cause) {
      if (!this.host.isOpen) return;
      if (cause instanceof RevokedInFlight) {
        this.host.close(CloseCode.Revoked, cause.reason);
        return;
      }
      this.answerRefusal(message, this.loud(cause));
      // A refused principal may not stay; refused credentials leave the session as it was.
      if (closeCodeFor(cause) === CloseCode.Forbidden) this.host.close(CloseCode.Forbidden, 'FORBIDDEN');
      else await this.settleSubscriptions();
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
      const ctx = await change.wait(this.createContext(this.params, replacement));
      this.admit(replacement, change);
      if (!this.host.isOpen || this.current !== session) return;
      this.adopt(replacement, ctx, this.params);
      await this.settleSubscriptions();
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

  private async authenticate(
    connectionParams: Record<string, string> | null,
    previous: TSession | null,
    change: SessionChange<TSession>,
  ): Promise<TSession | null> {
    const { authenticate } = this.options;
    if (!authenticate) return null;
    const { headers, cookies, queryToken, url, req } = this.request;
    const { signal } = change;
    const result: unknown = await change.wait(authenticate({ connectionParams, headers, cookies, queryToken, url, req, previous, signal }));
    const session = checkSession<TSession>(result, 'authenticate');
    if (hasExpiredBy(session, Date.now())) throw expiredCredentials();
    return session;
  }

  /**
   * The last gate before a session goes live, whichever path made it: it has not expired in
   * the meantime (an async `createContext`), and no `revoke()` issued while it was being made matches it.
   */
  private admit(session: TSession, change: SessionChange<TSession>): void {
    if (hasExpiredBy(session, Date.now())) throw expiredCredentials();
    const revokedBy = change.revokedBy(session);
    if (revokedBy !== null) throw new RevokedInFlight(revokedBy);
  }

  private createContext(connectionParams: Record<string, string> | null, session: TSession | null): Promise<unknown> | unknown {
    const { createContext } = this.options;
    if (!createContext) return undefined;
    return createContext({
      req: this.request.req,
      res: this.request.res,
      info: {
        accept: null,
        type: 'unknown',
        isBatchCall: false,
        calls: [],
        connectionParams,
        signal: this.aborter.signal,
        url: this.request.url,
      },
      session,
    });
  }

  private sameGrant(previous: TSession | null, next: TSession): boolean {
    return previous !== null && (this.options.sameAuthorization ?? defaultSameAuthorization)(previous, next);
  }

  private install(session: TSession | null, ctx: unknown, connectionParams: Record<string, string> | null): void {
    this.current = session;
    this.params = connectionParams;
    this.host.setContext(ctx);
    this.clock.arm(expiryOf(session), Date.now());
  }

  /**
   * A new session replaces the current one: new calls get `ctx` at once. When it grants
   * something else, live subscriptions hold their events until {@link settleSubscriptions}
   * re-runs them, and calls that waited under the old session are refused.
   */
  private adopt(session: TSession, ctx: unknown, connectionParams: Record<string, string> | null): void {
    const grantChanged = !this.sameGrant(this.current, session);
    this.install(session, ctx, connectionParams);
    if (grantChanged) this.host.suspendSubscriptions();
    this.host.ready(grantChanged);
  }

  /**
   * Re-runs held subscriptions once the queue of session changes is drained (a burst of changes
   * re-runs them once, under the last), and never under an expired session.
   */
  private async settleSubscriptions(): Promise<void> {
    if (!this.host.subscriptionsSuspended || this.changes.waiting > 0 || this.clock.isExpired() || !this.host.isOpen) return;
    await this.host.reauthorizeSubscriptions();
  }

  private answerRefusal(message: AuthenticateMessage, cause: unknown): void {
    const { frames, errors } = this.host;
    // Extension frames are never transformed: the client reads them without the router's transformer.
    const shape = withRefusalReason(errors.report(cause, 'unknown', undefined, undefined, false), cause);
    this.host.send(frames.error(frames.head(message.id, undefined), shape));
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
      params: { reason, expiresAt: this.clock.expiry, deadlineMs: Math.max(0, Math.round(deadlineMs)), seq: ++this.refreshSeq },
    };
    this.host.send(this.host.frames.message(refresh));
    return this.refreshSeq;
  }
}
