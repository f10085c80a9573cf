/**
 * One token shared by every link of a split-link client (HTTP links and `wsLink`): fetched
 * once, single-flight, renewed on demand, and pushed to whoever subscribed — typically the
 * WebSocket client, so a token an HTTP call refreshed reaches the socket in-band:
 *
 * ```ts
 * const tokens = createTokenSource({ fetchToken: () => auth.getAccessToken() });
 * const wsClient = createWSClient({
 *   url,
 *   // `request` says when the server refused or is expiring the token: then get a new one.
 *   connectionParams: async (request) => ({ token: await tokens.get(request) }),
 * });
 * tokens.subscribe(() => wsClient.reauthenticate());
 * const trpc = createTRPCClient<AppRouter>({
 *   links: [
 *     splitLink({
 *       condition: (op) => op.type === 'subscription',
 *       true: wsLink({ client: wsClient }),
 *       false: httpBatchLink({ url: httpUrl, headers: async () => ({ authorization: `Bearer ${await tokens.get()}` }) }),
 *     }),
 *   ],
 * });
 * // On an HTTP 401: `await tokens.refresh()` — the socket re-authenticates in-band too.
 * ```
 */
import type { CredentialsRequest } from './credentials.js';
import { needsNewCredentials } from './credentials.js';

/** Options of {@link createTokenSource}. */
export interface TokenSourceOptions {
  /** Fetches a new token (e.g. from the auth server, or by a refresh token). Never called concurrently. */
  fetchToken: () => Promise<string>;
  /**
   * When `token`, just fetched, expires, in milliseconds since the epoch on this machine's clock,
   * or `null` when that is not known. Called once per token, when it arrives. A token known to
   * expire within {@link TokenSourceOptions.expiryMarginMs} is never handed out:
   * {@link TokenSource.get} fetches a new one instead.
   * @default {@link jwtExpiresAtMs}: a JWT's lifetime from its `exp` and `iat` claims; `null` for any other token ({@link tokenSourceDefaults})
   */
  expiresAtMs?: (token: string) => number | null;
  /**
   * Milliseconds before its expiry from which a token counts as expired (room for clock skew
   * and the time the server takes to check it).
   * @default 1_000 ({@link tokenSourceDefaults})
   */
  expiryMarginMs?: number;
}

/** Defaults of {@link TokenSourceOptions}. */
export const tokenSourceDefaults: Readonly<Required<Pick<TokenSourceOptions, 'expiresAtMs' | 'expiryMarginMs'>>> = Object.freeze({
  expiresAtMs: jwtExpiresAtMs,
  expiryMarginMs: 1_000,
});

/**
 * When a JWT just received expires on this machine's clock, in milliseconds: now plus its
 * lifetime (`exp - iat`) when it has `iat`, so a skewed client clock does not matter; else its
 * `exp`. `null` when `token` is not a JWT with a numeric `exp`. Decoding is not verifying.
 */
export function jwtExpiresAtMs(token: string): number | null {
  const payload = token.split('.')[1];
  if (payload === undefined || typeof atob !== 'function') return null;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown; iat?: unknown } | null;
    const { exp, iat } = claims ?? {};
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return null;
    return typeof iat === 'number' && Number.isFinite(iat) ? Date.now() + (exp - iat) * 1000 : exp * 1000;
  } catch {
    return null;
  }
}

/** What {@link createTokenSource} returns. */
export interface TokenSource {
  /**
   * The current token: the one fetched last, or a new one when there is none yet or the one held
   * is known to have expired ({@link TokenSourceOptions.expiresAtMs}). Given a
   * `connectionParams` request that says the token is stale (reason `'refused'` or `'refresh'`),
   * the same as {@link TokenSource.refresh}. Concurrent calls share one fetch; a failed fetch is
   * not kept.
   */
  get(request?: CredentialsRequest): Promise<string>;
  /**
   * Fetches a new token (concurrent calls share one fetch), keeps it, and tells every
   * subscriber once it arrived. A call made while a fetch runs joins it.
   */
  refresh(): Promise<string>;
  /**
   * `listener` is called with each token {@link TokenSource.refresh} fetched. A promise it returns
   * is awaited by nobody, and its rejection is ignored (`reauthenticate()` reports its own
   * failures in `authState`'s `authError`).
   * @returns a function that unsubscribes.
   */
  subscribe(listener: (token: string) => void | Promise<unknown>): () => void;
}

/** Creates a {@link TokenSource}; see the module's example. */
export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const expiresAtMs = options.expiresAtMs ?? tokenSourceDefaults.expiresAtMs;
  const marginMs = options.expiryMarginMs ?? tokenSourceDefaults.expiryMarginMs;
  let token: string | null = null;
  /** When `token` expires (read once, when it arrived), or `null` when not known. */
  let tokenExpiresAtMs: number | null = null;
  let inFlight: Promise<string> | null = null;
  const listeners = new Set<(token: string) => void | Promise<unknown>>();

  const fetchOnce = (notify: boolean): Promise<string> => {
    if (inFlight !== null) return inFlight;
    const flight = options.fetchToken().then(
      (fresh) => {
        inFlight = null;
        token = fresh;
        tokenExpiresAtMs = expiresAtMs(fresh);
        if (notify) for (const listener of [...listeners]) tell(listener, fresh);
        return fresh;
      },
      (error: unknown) => {
        inFlight = null;
        throw error;
      },
    );
    inFlight = flight;
    return flight;
  };

  const refresh = () => fetchOnce(true);
  return {
    get: (request) => {
      if (request !== undefined && needsNewCredentials(request.reason)) return refresh();
      if (inFlight !== null) return inFlight;
      if (token !== null && (tokenExpiresAtMs === null || tokenExpiresAtMs - marginMs > Date.now())) return Promise.resolve(token);
      return fetchOnce(false); // none yet, or the one held has expired
    },
    refresh,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function tell(listener: (token: string) => void | Promise<unknown>, token: string): void {
  try {
    const result = listener(token);
    if (result instanceof Promise) result.catch(() => undefined);
  } catch (error) {
    setTimeout(() => {
      throw error; // surfaces as uncaught, like any listener's throw, without breaking the others
    });
  }
}
