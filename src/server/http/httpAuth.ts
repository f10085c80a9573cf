import { TRPCError } from '@trpc/server';
import { StreamEndReason } from '../../protocol/streamEnd.js';
import type { HandlerControls } from '../adapterSupport.js';
import type { AllowedOrigins } from '../auth/origin.js';
import { isOriginAllowed } from '../auth/origin.js';
import { checkSession } from '../auth/sessionChecks.js';
import type { AuthenticateOptions, CredentialCarriers, SessionBase } from '../auth/types.js';
import { withinDeadline } from '../withinDeadline.js';
import { authDefaults } from '../auth/types.js';
import type { SubscriptionFilter } from '../endSubscriptions.js';
import { endSubscriptionsOn, FilterGuard } from '../endSubscriptions.js';
import type { EndSubscriptionsOptions } from '../../broker/control/subscriptionTarget.js';
import { checkEnding } from '../../broker/control/subscriptionTarget.js';
import type { StreamHolder, StreamRegistry } from '../streamRegistry.js';
import { STREAM_REGISTRY } from '../streamRegistry.js';
import type { HttpSessionRecord } from './record.js';
import { HTTP_SESSION } from './record.js';
import type { HttpContextOptions } from './requestCredentials.js';
import { readCredentials } from './requestCredentials.js';
import { streamEndError } from './sseStream.js';

/** Options of {@link createHttpAuth}: the WebSocket handler's auth options, so one object serves both. */
export interface HttpAuthOptions<TSession extends SessionBase> {
  /**
   * Turns one request's credentials into a session: the same function the WebSocket handler
   * takes (`connectionParams` from `httpSubscriptionLink`/`httpLink`'s `connectionParams`, headers,
   * cookies and the query token when `credentials` turns them on; `previous` is always null).
   * Throw `UNAUTHORIZED` (HTTP 401) or `FORBIDDEN` (403) to refuse; a session whose `expiresAt`
   * has passed is refused (401, `credentials-expired`).
   */
  authenticate: (opts: AuthenticateOptions<TSession, unknown>) => TSession | Promise<TSession>;
  /** Which carriers besides `connectionParams` and headers reach `authenticate`. */
  credentials?: CredentialCarriers;
  /**
   * Which browser origins may send credentialed requests (checked when `credentials.cookies` is
   * on: a cookie rides along with requests another site's page makes). Refused: `FORBIDDEN`.
   * @default every origin
   */
  allowedOrigins?: AllowedOrigins<unknown>;
  /**
   * How long before `expiresAt` an SSE stream ends with `session-expired` so that the client opens
   * it again with fresh credentials, in milliseconds; at most half the session's lifetime when it
   * has an `issuedAt`.
   * @default 30_000
   */
  refreshAheadMs?: number;
  /**
   * How long `authenticate` may take, in milliseconds; then the request is refused with `TIMEOUT`.
   * @default 10_000
   */
  authTimeoutMs?: number;
  /**
   * The WebSocket handler (`applyWSSHandler`, `fastifyTRPCPlugin`'s, `applyUWSHandler`) whose live
   * sessions these SSE streams join: its `revoke`, `requestReauthentication` and `endSubscriptions`
   * (by filter, and with cluster control by key on every node) reach them, and its revocation
   * records are checked for every request. Without it the helper's own controls reach its streams.
   * @default undefined
   */
  handler?: HandlerControls<TSession>;
}

/** The defaults of {@link HttpAuthOptions}. */
export const httpAuthDefaults = {
  refreshAheadMs: authDefaults.refreshAheadMs,
  authTimeoutMs: 10_000,
} as const;

/** What {@link createHttpAuth} returns. */
export interface HttpAuth<TSession extends SessionBase> {
  /**
   * Wraps your `createContext` for tRPC's HTTP adapters (standalone, fetch, Fastify): runs
   * `authenticate` on the request first and hands `inner` the session. The context must be an
   * object. Add `sessionLifecycle` to your procedures so SSE streams follow the session.
   */
  createContext<TOpts extends HttpContextOptions, TContext extends object>(
    inner: (opts: TOpts & { session: TSession }) => TContext | Promise<TContext>,
  ): (opts: TOpts) => Promise<TContext>;
  /** Ends the live SSE streams (and, with `handler`, the sockets) whose session `filter` picks: `revoked`. Returns how many. */
  revoke(filter: (session: TSession) => boolean, options?: { reason?: string }): number;
  /** Ends them so the clients open them again with fresh credentials (`reauthentication-requested`). Returns how many. */
  requestReauthentication(filter: (session: TSession) => boolean): number;
  /** Ends the SSE subscriptions `filter` picks (`subscription-ended`). Returns how many. */
  endSubscriptions(filter: SubscriptionFilter<TSession>, options?: EndSubscriptionsOptions): number;
}

/**
 * The auth lifecycle for tRPC's HTTP transports (queries, mutations and SSE subscriptions over
 * `httpLink`, `httpBatchLink`, `httpSubscriptionLink`), with the WebSocket handler's `authenticate`:
 * every request is authenticated; an expired session is refused (401); with `sessionLifecycle` on
 * the procedures, an SSE stream ends when its session is about to expire, is revoked or asked for
 * fresh credentials, typed so that a client knows whether to open it again (PROTOCOL.md § 10).
 */
export function createHttpAuth<TSession extends SessionBase>(options: HttpAuthOptions<TSession>): HttpAuth<TSession> {
  const refreshAheadMs = options.refreshAheadMs ?? httpAuthDefaults.refreshAheadMs;
  const authTimeoutMs = options.authTimeoutMs ?? httpAuthDefaults.authTimeoutMs;
  const { handler } = options;
  const own = new Set<StreamHolder<TSession>>();
  const registry: StreamRegistry<TSession> = handler?.[STREAM_REGISTRY] ?? {
    add: (stream) => void own.add(stream),
    delete: (stream) => void own.delete(stream),
    revocations: null,
    report: (cause) => console.error('[trpc-lanyard]', cause),
  };
  const live = (filter: (session: TSession) => boolean) =>
    [...own].filter((stream) => stream.isOpen && stream.auth.session !== null && filter(stream.auth.session));

  async function authenticateRequest(opts: HttpContextOptions): Promise<TSession> {
    const carriers = readCredentials(opts.req, options.credentials);
    if (options.credentials?.cookies && !isOriginAllowed(options.allowedOrigins, carriers.origin, opts.req, (cause) => registry.report(cause))) {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'this origin may not send credentialed requests' });
    }
    const result = await withinDeadline('authenticate', authTimeoutMs, (signal) =>
      options.authenticate({
        connectionParams: opts.info.connectionParams,
        headers: carriers.headers,
        cookies: carriers.cookies,
        queryToken: carriers.queryToken,
        get url() {
          return carriers.url;
        },
        req: opts.req,
        previous: null,
        signal,
      }),
    );
    const session = checkSession<TSession>(result, 'authenticate');
    if (typeof session.expiresAt === 'number' && session.expiresAt <= Date.now()) {
      throw streamEndError(StreamEndReason.CredentialsExpired, 'the credentials have expired');
    }
    const revoked = registry.revocations === null ? null : await registry.revocations.check(session, (cause) => registry.report(cause));
    if (revoked !== null) throw streamEndError(StreamEndReason.Revoked, revoked);
    return session;
  }

  return {
    createContext(inner) {
      return async (opts) => {
        const session = await authenticateRequest(opts);
        const ctx = await inner({ ...opts, session });
        if (typeof ctx !== 'object' || ctx === null) {
          throw new TypeError('trpc-lanyard: createHttpAuth().createContext needs your createContext to return an object');
        }
        const record: HttpSessionRecord<TSession> = { session, expiresAt: session.expiresAt ?? null, refreshAheadMs, registry };
        // Enumerable: tRPC's middlewares merge contexts by spreading, which copies symbol keys too.
        Object.defineProperty(ctx, HTTP_SESSION, { value: record, enumerable: true, configurable: true });
        return ctx;
      };
    },
    revoke(filter, revokeOptions = {}) {
      if (handler) return handler.revoke(filter, revokeOptions);
      const streams = live(filter);
      for (const stream of streams) stream.revoke(revokeOptions.reason ?? 'session revoked');
      return streams.length;
    },
    requestReauthentication(filter) {
      if (handler) return handler.requestReauthentication(filter);
      const streams = live(filter);
      for (const stream of streams) stream.requestReauthentication();
      return streams.length;
    },
    endSubscriptions(filter, endOptions) {
      if (handler) return handler.endSubscriptions(filter, endOptions);
      const guard = new FilterGuard(filter);
      const ended = endSubscriptionsOn([...own], (session) => guard.forSession(session), checkEnding(endOptions));
      const failure = guard.failure();
      if (failure !== null) registry.report(failure);
      return ended;
    },
  };
}
