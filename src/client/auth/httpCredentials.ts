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
import { shouldRetryWithFreshCredentials, streamEndReason, StreamEndReason } from '../../protocol/streamEnd.js';
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

/** How many operations {@link freshCredentialsRetry} remembers an unanswered refusal of (oldest forgotten first). */
const REMEMBERED_REFUSALS = 1_000;

/**
 * Options for tRPC's `retryLink`: when the server ends a running stream for fresh credentials
 * (`session-expired`, `reauthentication-requested`), refresh `tokens`, then open it again (from its
 * last tracked event, which `retryLink` adds), every time. When it refuses credentials that had
 * already expired (`credentials-expired`), refresh and try once more — again only after the stream
 * ran: a token source whose refresh keeps giving stale credentials ends the subscription instead of
 * reopening it in a loop. A query or mutation is sent at most `maxCallAttempts` times. Anything
 * else, `revoked` included, is not retried.
 */
export function freshCredentialsRetry(
  tokens: TokenSource,
  options: FreshCredentialsRetryOptions = {},
): { retry: (opts: { op: Operation; attempts: number; error: unknown }) => boolean; retryDelayMs: (attempt: number) => number } {
  const maxCallAttempts = options.maxCallAttempts ?? 2;
  /** Subscriptions (by op id) whose last try was refused as it opened, and retried. */
  const refusedAtOpen = new Set<number>();
  const retried = (): boolean => {
    tokens.refresh().catch(() => undefined); // the next try's `tokens.get()` joins it (and sees its failure)
    return true;
  };
  return {
    retry: ({ op, attempts, error }) => {
      const reason = streamEndReason(error);
      const ranAndEnded = shouldRetryWithFreshCredentials(error);
      if (!ranAndEnded && reason !== StreamEndReason.CredentialsExpired) {
        refusedAtOpen.delete(op.id);
        return false;
      }
      if (op.type !== 'subscription') return attempts < maxCallAttempts && retried();
      if (ranAndEnded) {
        refusedAtOpen.delete(op.id);
        return retried();
      }
      if (refusedAtOpen.has(op.id)) {
        refusedAtOpen.delete(op.id);
        return false; // refused as it opened twice in a row: the refresh gives nothing fresher
      }
      if (refusedAtOpen.size >= REMEMBERED_REFUSALS) refusedAtOpen.delete(refusedAtOpen.values().next().value as number);
      refusedAtOpen.add(op.id);
      return retried();
    },
    retryDelayMs: options.retryDelayMs ?? (() => 0),
  };
}
