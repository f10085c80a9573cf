import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { CloseCode } from '../../protocol/closeCodes.js';
import type { AuthenticateMessage, RefreshRequest, SessionNotification } from '../../protocol/messages.js';
import type { ErrorReporter } from '../errors.js';
import type { Frame, FrameBuilder } from '../frames.js';
import type { CoreHandlerOptions } from '../options.js';
import { defaultSameAuthorization } from './sameAuthorization.js';
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
  /** A valid session is in place: run the calls that wait. */
  ready(): void;
  /** The session expired: let new calls wait. */
  stale(): void;
  /** Re-run every live subscription under the new context. */
  reauthorizeSubscriptions(): Promise<void>;
  /** Subscriptions were suspended by an expiry and must be re-run even for the same grant. */
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

function expiryOf(session: SessionBase | null): number | null {
  const expiresAt = session?.expiresAt;
  return typeof expiresAt === 'number' && Number.isFinite(expiresAt) ? expiresAt : null;
}

/**
 * The auth lifecycle of one connection: connect-time `authenticate` + `createContext`, in-band
 * re-authentication, expiry (refresh request, stale, close), server-requested refreshes and
 * `revalidate`. It owns the session; the connection owns the socket and the calls.
 */
export class Authenticator<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase> {
  private current: TSession | null = null;
  private params: Record<string, string> | null = null;
  private readonly clock: SessionClock;
  private requestTimer: ReturnType<typeof setTimeout> | undefined;
  /** Re-authentications run one after another, in arrival order. */
  private chain: Promise<void> = Promise.resolve();
  private revalidating = false;
  private readonly aborter = new AbortController();
  /** The `seq` of the last `lanyard.refresh` sent on this connection. */
  private refreshSeq = 0;

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
  }

  /** The current session (null before authentication, or without `authenticate`). */
  get session(): TSession | null {
    return this.current;
  }

  /** Whether the session has expired by now (calls must then wait for a refresh). */
  hasExpired(): boolean {
    return this.clock.isExpired();
  }

  /** Connect-time: authenticate, create the context, announce the session. */
  async connect(connectionParams: Record<string, string> | null): Promise<void> {
    let session: TSession | null;
    let ctx: unknown;
    try {
      session = await this.authenticate(connectionParams, null);
      ctx = await this.createContext(connectionParams, session);
    } catch (cause) {
      if (this.host.isOpen) this.host.refuse(cause);
      return;
    }
    if (!this.host.isOpen) return;
    this.install(session, ctx, connectionParams);
    this.announce();
    this.host.ready();
  }

  /** In band: the client's `lanyard.authenticate`. Answered on its id. */
  reauthenticate(message: AuthenticateMessage): Promise<void> {
    const run = async (): Promise<void> => {
      const { frames, errors } = this.host;
      const head = frames.head(message.id, undefined);
      const { connectionParams } = message.params;
      let session: TSession | null;
      let ctx: unknown;
      try {
        session = await this.authenticate(connectionParams, this.current);
        ctx = await this.createContext(connectionParams, session);
      } catch (cause) {
        if (!this.host.isOpen) return;
        // Extension frames are never transformed: the client reads them without the router's transformer.
        this.host.send(frames.error(head, errors.report(cause, 'unknown', undefined, undefined, false)));
        // A refused principal may not stay; refused credentials leave the session as it was.
        if (closeCodeFor(cause) === CloseCode.Forbidden) this.host.close(CloseCode.Forbidden, 'FORBIDDEN');
        return;
      }
      if (!this.host.isOpen) return;
      await this.adopt(session, ctx, connectionParams);
      this.host.send(frames.message({ id: message.id, result: { type: 'data', data: { expiresAt: expiryOf(session) } } }));
    };
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  /** The server wants fresh credentials now (e.g. a role changed). */
  requestReauthentication(): void {
    this.askForCredentials('requested', this.authTimeoutMs);
    clearTimeout(this.requestTimer);
    this.requestTimer = setTimeout(
      () => this.host.close(CloseCode.AuthTimeout, 'no fresh credentials after the server asked for them'),
      this.authTimeoutMs,
    );
  }

  /** The periodic server-side check; see `revalidate` in the options. */
  async revalidate(): Promise<void> {
    const check = this.options.revalidate;
    const session = this.current;
    if (!check || session === null || this.revalidating || !this.host.isOpen) return;
    this.revalidating = true;
    try {
      const result = await check(session);
      if (!this.host.isOpen || this.current !== session) return;
      if (result === null) {
        this.host.close(CloseCode.Revoked, 'session revoked');
      } else if (result !== session) {
        const ctx = await this.createContext(this.params, result);
        if (!this.host.isOpen) return;
        await this.adopt(result, ctx, this.params);
        this.announce();
      }
    } catch (cause) {
      if (!this.host.isOpen) return;
      const code = closeCodeFor(cause);
      this.host.errors.report(cause, 'unknown', undefined, undefined);
      if (code !== CloseCode.InternalError) this.host.close(code, cause instanceof TRPCError ? cause.code : 'refused');
    } finally {
      this.revalidating = false;
    }
  }

  /** The connection ended: stop every timer and abort what `createContext` was given. */
  dispose(): void {
    this.clock.clear();
    clearTimeout(this.requestTimer);
    this.aborter.abort();
  }

  private async authenticate(connectionParams: Record<string, string> | null, previous: TSession | null): Promise<TSession | null> {
    const { authenticate } = this.options;
    if (!authenticate) return null;
    const { headers, cookies, queryToken, url, req } = this.request;
    const session = await authenticate({ connectionParams, headers, cookies, queryToken, url, req, previous });
    const expiresAt = expiryOf(session);
    if (expiresAt !== null && expiresAt <= Date.now()) {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'The credentials have expired' });
    }
    return session;
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

  private install(session: TSession | null, ctx: unknown, connectionParams: Record<string, string> | null): void {
    this.current = session;
    this.params = connectionParams;
    this.host.setContext(ctx);
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    this.clock.arm(expiryOf(session), Date.now());
  }

  /**
   * A new session replaces the current one: new calls get `ctx` at once; when it grants
   * something else, live subscriptions are re-authorised before the caller answers.
   */
  private async adopt(session: TSession | null, ctx: unknown, connectionParams: Record<string, string> | null): Promise<void> {
    const previous = this.current;
    this.install(session, ctx, connectionParams);
    const same = previous !== null && session !== null && (this.options.sameAuthorization ?? defaultSameAuthorization)(previous, session);
    if (!same || this.host.subscriptionsSuspended) await this.host.reauthorizeSubscriptions();
    if (this.host.isOpen) this.host.ready();
  }

  private announce(): void {
    if (!this.request.speaksLanyard) return;
    const notification: SessionNotification = { id: null, method: 'lanyard.session', params: { expiresAt: expiryOf(this.current) } };
    this.host.send(this.host.frames.message(notification));
  }

  /** Asks a lanyard client for credentials, or a stock client to reconnect (it re-sends its params). */
  private askForCredentials(reason: RefreshRequest['params']['reason'], deadlineMs: number): void {
    if (!this.request.speaksLanyard) {
      this.host.send(this.host.frames.message({ id: null, method: 'reconnect' }));
      return;
    }
    const refresh: RefreshRequest = {
      id: null,
      method: 'lanyard.refresh',
      params: { reason, expiresAt: this.clock.expiry, deadlineMs: Math.max(0, Math.round(deadlineMs)), seq: ++this.refreshSeq },
    };
    this.host.send(this.host.frames.message(refresh));
  }
}
