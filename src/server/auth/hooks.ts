import type { AnyRouter } from '@trpc/server';
import type { RevocationGate } from '../cluster/revocationGate.js';
import type { CoreHandlerOptions } from '../options.js';
import type { ContextInfoSource } from './contextInfo.js';
import { contextInfo } from './contextInfo.js';
import type { AuthRequest } from './host.js';
import { defaultSameAuthorization } from './sameAuthorization.js';
import type { SessionChange } from './sessionChanges.js';
import { checkSession, expiredCredentials, hasExpiredBy } from './sessionChecks.js';
import type { SessionBase } from './types.js';

/** Thrown inside a change whose new session a `revoke()` issued meanwhile matches. */
export class RevokedInFlight extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * The app's auth hooks as one connection calls them: `authenticate` (checked, abortable),
 * `createContext` (stock tRPC's options plus the session), `sameAuthorization`, and the last
 * gate before a session goes live.
 */
export class AuthHooks<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase> implements ContextInfoSource {
  constructor(
    private readonly options: CoreHandlerOptions<TRouter, TReq, TRes, TSession>,
    private readonly request: AuthRequest<TReq, TRes>,
    /** Where `createContext`'s `info.signal` comes from (aborted when the connection ends). */
    private readonly connection: { closedSignal(): AbortSignal },
    /** The revocation records (cluster control), or null without them. */
    private readonly revocations: RevocationGate<TSession> | null,
  ) {}

  /** Whether the server has sessions at all (an `authenticate` hook). */
  get enabled(): boolean {
    return this.options.authenticate !== undefined;
  }

  /** Runs `authenticate` (null without it): a non-session or an expired one is refused, a non-finite expiry is a misuse. */
  async authenticate(connectionParams: Record<string, string> | null, previous: TSession | null, change: SessionChange<TSession>): Promise<TSession | null> {
    const { authenticate } = this.options;
    if (!authenticate) return null;
    const { request } = this;
    const { headers, cookies, queryToken, req } = request;
    let url: URL | null | undefined;
    const options = {
      connectionParams,
      headers,
      cookies,
      queryToken,
      // Parsed when read, once: most `authenticate` hooks never look at it.
      get url(): URL | null {
        return (url ??= request.url);
      },
      req,
      previous,
      // Made when read: most `authenticate` hooks never look at it (see SessionChange).
      get signal(): AbortSignal {
        return change.signal;
      },
    };
    const result: unknown = await change.wait(authenticate(options));
    const session = checkSession<TSession>(result, 'authenticate');
    if (hasExpiredBy(session, Date.now())) throw expiredCredentials();
    return session;
  }

  /**
   * Refuses a session that a revocation record ends ({@link RevokedInFlight}: close 4410 with the
   * record's reason) before anything runs under it. `report` hears of records that could not be
   * read when the policy admits the session anyway.
   */
  async checkRevocations(session: TSession, change: SessionChange<TSession>, report: (cause: unknown) => void): Promise<void> {
    if (this.revocations === null) return;
    const reason = await change.wait(this.revocations.check(session, report));
    if (reason !== null) throw new RevokedInFlight(reason);
  }

  createContext(connectionParams: Record<string, string> | null, session: TSession | null): Promise<unknown> | unknown {
    const { createContext } = this.options;
    if (!createContext) return undefined;
    return createContext({
      req: this.request.req,
      res: this.request.res,
      info: contextInfo(connectionParams, this),
      session,
    });
  }

  /** ContextInfoSource: `info.signal`, aborted when the connection ends. */
  closedSignal(): AbortSignal {
    return this.connection.closedSignal();
  }

  /** ContextInfoSource: `info.url`. */
  requestUrl(): URL | null {
    return this.request.url;
  }

  /** Whether `next` grants what `previous` did (false when there was none). */
  sameGrant(previous: TSession | null, next: TSession): boolean {
    return previous !== null && (this.options.sameAuthorization ?? defaultSameAuthorization)(previous, next);
  }

  /**
   * The last gate before a session goes live, whichever path made it: it has not expired in
   * the meantime (an async `createContext`), and no `revoke()` issued while it was being made matches it.
   */
  admit(session: TSession, change: SessionChange<TSession>): void {
    if (hasExpiredBy(session, Date.now())) throw expiredCredentials();
    const revokedBy = change.revokedBy(session);
    if (revokedBy !== null) throw new RevokedInFlight(revokedBy);
  }
}
