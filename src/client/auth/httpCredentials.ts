/**
 * A {@link TokenSource} driving tRPC's own HTTP links against a server with `createHttpAuth`
 * (PROTOCOL.md § 10): the token in a header of every SSE request (never in a URL), and the retry
 * recipe that reopens a stream the server ended for fresh credentials — after refreshing the token,
 * so the new stream never presents the stale one.
 *
 * ```ts
 * const tokens = createTokenSource({ fetchToken: () => auth.getAccessToken() });
 * const trpc = createTRPCClient<AppRouter>({
 *   links: [
 *     retryLink(freshCredentialsRetry(tokens)),
 *     httpSubscriptionLink({ url, EventSource, eventSourceOptions: bearerEventSourceOptions(tokens) }),
 *   ],
 * });
 * ```
 */
import type { Operation } from '@trpc/client';
import { shouldRetryWithFreshCredentials } from '../../protocol/streamEnd.js';
import type { TokenSource } from './tokenSource.js';

/** The `fetch` an `EventSource` ponyfill may take (the `eventsource` package, v3 and later). */
export type EventSourceFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** Options of {@link bearerEventSourceOptions}. */
export interface BearerEventSourceOptions {
  /**
   * The header that carries the token.
   * @default 'authorization'
   */
  header?: string;
  /**
   * What goes before the token in that header (`''` for none).
   * @default 'Bearer'
   */
  scheme?: string;
  /**
   * The `fetch` to send the requests with.
   * @default globalThis.fetch
   */
  fetch?: EventSourceFetch;
}

/**
 * `eventSourceOptions` for `httpSubscriptionLink` with an `EventSource` that takes a `fetch`
 * (the `eventsource` package): every request of the stream — the first, and each reconnection the
 * EventSource makes by itself — carries the token `tokens.get()` gives at that moment, in a header.
 * The token never appears in a URL. (The browser's own EventSource cannot send headers: use
 * cookies there, or `connectionParams`, which tRPC puts in the URL.)
 */
export function bearerEventSourceOptions(tokens: TokenSource, options: BearerEventSourceOptions = {}): () => { fetch: EventSourceFetch } {
  const header = options.header ?? 'authorization';
  const prefix = options.scheme === '' ? '' : `${options.scheme ?? 'Bearer'} `;
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const withToken: EventSourceFetch = async (input, init) => {
    const token = await tokens.get();
    const headers = new Headers(init?.headers);
    headers.set(header, `${prefix}${token}`);
    return send(input, { ...init, headers });
  };
  return () => ({ fetch: withToken });
}

/** Options of {@link freshCredentialsRetry}. */
export interface FreshCredentialsRetryOptions {
  /**
   * How many times a query or mutation refused for stale credentials is sent in all (the first
   * try included). Subscriptions are reopened every time the server ends them for fresh
   * credentials: each time is a new token's stream.
   * @default 2
   */
  maxCallAttempts?: number;
  /**
   * Milliseconds to wait before attempt `attempt + 1`.
   * @default 0 (at once: the token refresh it waits for is already under way)
   */
  retryDelayMs?: (attempt: number) => number;
}

/**
 * Options for tRPC's `retryLink`: when the server ends a stream (or refuses a call) for fresh
 * credentials — `session-expired` or `reauthentication-requested` — refresh `tokens`, then try
 * again (a subscription from its last tracked event, which `retryLink` adds). Anything else,
 * `revoked` included, is not retried.
 */
export function freshCredentialsRetry(
  tokens: TokenSource,
  options: FreshCredentialsRetryOptions = {},
): { retry: (opts: { op: Operation; attempts: number; error: unknown }) => boolean; retryDelayMs: (attempt: number) => number } {
  const maxCallAttempts = options.maxCallAttempts ?? 2;
  return {
    retry: ({ op, attempts, error }) => {
      if (!shouldRetryWithFreshCredentials(error)) return false;
      if (op.type !== 'subscription' && attempts >= maxCallAttempts) return false;
      tokens.refresh().catch(() => undefined); // the next attempt's `tokens.get()` joins it (and sees its failure)
      return true;
    },
    retryDelayMs: options.retryDelayMs ?? (() => 0),
  };
}
