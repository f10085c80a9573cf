import type { AnyRouter, inferRouterContext } from '@trpc/server';
import type { TRPCRequestInfo } from '@trpc/server/http';

/**
 * What every session may carry: any object of the app's own, with an optional `expiresAt`.
 *
 * A type and not an interface of optional properties only: TypeScript refuses to assign an object
 * that shares no property with such a "weak" type, so `{ userId }` (no `expiresAt`) was not a
 * session. `object &` turns that check off; `then?: never` keeps a promise from passing for a
 * session (a session is never a thenable: `authenticate`'s result is awaited).
 */
export type SessionBase = object & {
  /** When the session expires, in milliseconds since the epoch (server clock). Absent or null: never. */
  readonly expiresAt?: number | null;
  /**
   * When its credentials were issued, in milliseconds since the epoch (e.g. a JWT's `iat × 1000`).
   * A revocation by session key ends the sessions issued before it, so a login after
   * "log out everywhere" passes; a session without it counts as issued before every revocation
   * (refused until the revocation record expires).
   */
  readonly issuedAt?: number | null;
  readonly then?: never;
};

/**
 * The session type a router's context declares in a `session` field (`null` and `undefined`
 * removed), or {@link SessionBase} when it declares none. The handlers' session type falls back
 * to it when nothing else says what `authenticate` returns.
 *
 * Why a fallback is needed: `authenticate`'s parameter mentions the session type (`previous`), so
 * TypeScript settles that type as soon as it reads an `authenticate` arrow whose parameter is not
 * annotated, before it sees the arrow's return. With `initTRPC.context<{ session: Session | null }>()`
 * this makes the session type `Session` without `applyWSSHandler<AppRouter, Session>`.
 */
export type RouterSession<TRouter extends AnyRouter> =
  inferRouterContext<TRouter> extends { session?: infer S }
    ? NonNullable<S> extends SessionBase
      ? NonNullable<S>
      : SessionBase
    : SessionBase;

/** What `authenticate` receives, connect-time and in band. */
export interface AuthenticateOptions<TSession, TReq = unknown> {
  /** The client's `connectionParams` (the first frame, or an in-band `lanyard.authenticate`). */
  connectionParams: TRPCRequestInfo['connectionParams'];
  /** The upgrade request's headers (Node and React Native clients can set `Authorization`). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The upgrade request's cookies; empty unless `credentials.cookies` is on. */
  cookies: Readonly<Record<string, string>>;
  /** The query parameter named by `credentials.queryParam`, or null (always null when that is off). */
  queryToken: string | null;
  /** The request URL with the query-parameter token (if any) redacted. */
  url: URL | null;
  /** The HTTP upgrade request (its `url` redacted likewise). */
  req: TReq;
  /** The current session on a re-authentication; null at connect time. */
  previous: TSession | null;
  /**
   * Aborted when the connection closes or `authTimeoutMs` passes before `authenticate` (and
   * `createContext`) finished: pass it on to slow look-ups. Either way the server stops waiting
   * and keeps nothing of the connection, even if the returned promise never settles.
   */
  signal: AbortSignal;
}

/** Where credentials may come from. Each carrier reaches `authenticate`; the app decides which it trusts. */
export interface CredentialCarriers {
  /**
   * Pass the upgrade request's cookies to `authenticate`. Cookies ride along with cross-site
   * requests, so set `allowedOrigins` too (the handler warns once at start-up if you don't).
   * @default false
   */
  cookies?: boolean;
  /**
   * The name of a query parameter that may carry a token, e.g. `'access_token'`. Off by
   * default: URLs end up in logs and proxies. When on, the parameter is removed from the URL
   * handed to anything else (`req.url`, `info.url`, errors, logs) and replaced by `REDACTED`.
   * @default false
   */
  queryParam?: string | false;
}

/**
 * The auth lifecycle's options, added to the handler's. `TSession` is what `authenticate`
 * returns; every other option only consumes it (`NoInfer`), so they never widen or narrow it.
 */
export interface AuthOptions<TSession extends SessionBase, TReq> {
  /**
   * Turns credentials into a session, connect-time and on every in-band re-authentication.
   * Throw `TRPCError` `UNAUTHORIZED` (close 4401 at connect time) or `FORBIDDEN` (close 4403)
   * to refuse. A session whose `expiresAt` has passed is refused as `UNAUTHORIZED`, and so is
   * anything that is not an object (`null`, `undefined`). An `expiresAt` that is neither a
   * finite number nor null/absent (e.g. `NaN` from `exp * 1000` without `exp`) is a programming
   * error: `INTERNAL_SERVER_ERROR`, close 4500 at connect time. In band, re-check the grant from
   * your own store: a client may answer a refresh request with the token it already had.
   * Without it, connections behave as in stock tRPC: no session, no expiry.
   */
  authenticate?: (opts: AuthenticateOptions<NoInfer<TSession>, TReq>) => TSession | Promise<TSession>;
  /** Which carriers besides `connectionParams` and headers reach `authenticate`. */
  credentials?: CredentialCarriers;
  /**
   * How long before `expiresAt` the server asks for fresh credentials, in milliseconds; at most
   * half the session's lifetime. Stock clients get tRPC's `reconnect` notification instead.
   * @default 30_000
   */
  refreshAheadMs?: number;
  /**
   * How long after `expiresAt` a refresh may still arrive, in milliseconds. Calls that arrive in
   * between wait for it; then the socket closes with 4419 (SessionExpired).
   * @default 5_000
   */
  expiryGraceMs?: number;
  /**
   * Whether a re-authenticated session grants what the previous one did, so live subscriptions
   * can continue untouched (a token rotation). When it returns false, every live subscription is
   * re-authorised under the new context.
   * @default compares the two sessions, `expiresAt` aside, as JSON
   */
  sameAuthorization?: (previous: NoInfer<TSession>, next: NoInfer<TSession>) => boolean;
  /**
   * A periodic server-side check of each session (e.g. revoked in a database). Return the
   * session (or a replacement) to keep the connection, null to revoke it (close 4410); throw
   * `UNAUTHORIZED`/`FORBIDDEN` to close with 4401/4403. Other errors go to `onError` and the
   * session is kept. A replacement that has already expired, or is not an object, is refused
   * (4401). It runs in turn with in-band re-authentications, never over a newer session, and
   * must finish within `authTimeoutMs` (else it counts as an error: `onError`, session kept).
   */
  revalidate?: (session: NoInfer<TSession>) => NoInfer<TSession> | null | Promise<NoInfer<TSession> | null>;
  /**
   * How often `revalidate` runs for each connection, in milliseconds.
   * @default 60_000
   */
  revalidateIntervalMs?: number;
  /**
   * The largest frame accepted before the connection is authenticated, in bytes; larger closes
   * with 4413. Applies only with `authenticate` (without it, `maxPayloadBytes` applies throughout).
   * @default 16_384 (16 KiB)
   */
  maxPayloadBytesBeforeAuth?: number;
  /**
   * How many in-band re-authentications (`lanyard.authenticate`) one connection may make per
   * minute, as a token bucket (bursts up to this many, refilled continuously). One over it is
   * answered with `TOO_MANY_REQUESTS` and `lanyardReason: 'rate-limited'` without running
   * anything; more than this many refused in a row close the socket with 4429 (RateLimited).
   * `Infinity` turns the limit off.
   * @default 30
   */
  maxReauthenticationsPerMinute?: number;
}

/** The defaults of {@link AuthOptions}. */
export const authDefaults = {
  refreshAheadMs: 30_000,
  expiryGraceMs: 5_000,
  revalidateIntervalMs: 60_000,
  maxPayloadBytesBeforeAuth: 16_384,
  maxReauthenticationsPerMinute: 30,
} as const;
