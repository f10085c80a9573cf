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
}

/** What {@link createTokenSource} returns. */
export interface TokenSource {
  /**
   * The current token: the one fetched last, or a new one when there is none yet. Given a
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
   * failures in `connectionState.authError`).
   * @returns a function that unsubscribes.
   */
  subscribe(listener: (token: string) => void | Promise<unknown>): () => void;
}

/** Creates a {@link TokenSource}; see the module's example. */
export function createTokenSource(options: TokenSourceOptions): TokenSource {
  let token: string | null = null;
  let inFlight: Promise<string> | null = null;
  const listeners = new Set<(token: string) => void | Promise<unknown>>();

  const fetchOnce = (notify: boolean): Promise<string> => {
    if (inFlight !== null) return inFlight;
    const flight = options.fetchToken().then(
      (fresh) => {
        inFlight = null;
        token = fresh;
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
      return token !== null ? Promise.resolve(token) : fetchOnce(false);
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
