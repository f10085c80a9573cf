/**
 * Why the server ended a subscription stream that has no socket to close: an SSE stream of tRPC's
 * `httpSubscriptionLink` (PROTOCOL.md § 10). The stream's error event carries a tRPC error whose
 * message starts with `lanyard.<reason>:` (the SSE path has no place for `data.lanyardReason`
 * after the router's `errorFormatter`; a formatter that keeps `message` keeps the signal). HTTP
 * calls refused for the same reasons answer the same way. This module imports nothing.
 */

/** The reasons, each with what a client does next. */
export const StreamEndReason = {
  /** The session expired, or is about to (`UNAUTHORIZED`): open the stream again with fresh credentials, from the last event id. */
  SessionExpired: 'session-expired',
  /**
   * The credentials presented had already expired (`UNAUTHORIZED`, a request or a stream refused as it
   * opened): fetch fresh ones before trying again. {@link shouldRetryWithFreshCredentials} says no
   * to it, so a client whose refresh keeps giving the same credentials stops instead of reopening
   * in a loop; our `freshCredentialsRetry` tries once more after a refresh.
   */
  CredentialsExpired: 'credentials-expired',
  /** The server asked for fresh credentials (`UNAUTHORIZED`, `requestReauthentication`): open it again with fresh ones. */
  ReauthenticationRequested: 'reauthentication-requested',
  /** The session was revoked (`FORBIDDEN`): do not open it again. */
  Revoked: 'revoked',
} as const;

/** One of the strings in {@link StreamEndReason}. */
export type StreamEndReason = (typeof StreamEndReason)[keyof typeof StreamEndReason];

/** The messages of these errors start with this, then the reason and a colon. */
export const STREAM_END_MESSAGE_PREFIX = 'lanyard.';

const reasons = new Set<string>(Object.values(StreamEndReason));

/**
 * The {@link StreamEndReason} of `error` (a `TRPCClientError` from `httpSubscriptionLink` or an HTTP
 * link, or anything with a `message`), or null. `session-expired` and `reauthentication-requested`
 * mean "retry with fresh credentials"; `revoked` means "stop".
 */
export function streamEndReason(error: unknown): StreamEndReason | null {
  if (typeof error !== 'object' || error === null) return null;
  const { message } = error as { message?: unknown };
  if (typeof message !== 'string' || !message.startsWith(STREAM_END_MESSAGE_PREFIX)) return null;
  const reason = message.slice(STREAM_END_MESSAGE_PREFIX.length).split(':', 1)[0] ?? '';
  return reasons.has(reason) ? (reason as StreamEndReason) : null;
}

/**
 * Whether `error` says "a stream that was running ended: open it again with fresh credentials"
 * (`session-expired`, `reauthentication-requested`). Not for `credentials-expired` (the credentials
 * were refused as they arrived: retrying with the same ones would loop) nor `revoked`.
 */
export function shouldRetryWithFreshCredentials(error: unknown): boolean {
  const reason = streamEndReason(error);
  return reason === StreamEndReason.SessionExpired || reason === StreamEndReason.ReauthenticationRequested;
}
