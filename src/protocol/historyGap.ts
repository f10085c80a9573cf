/**
 * The history-gap signal of `trpc-lanyard/broker`, as it reaches a client.
 *
 * A broker stream that cannot replay every event after a `lastEventId` (the id is outside the
 * retention window, from another epoch, or the store lost its data) never replays part of it: it
 * ends the subscription with a tRPC error whose code is {@link HISTORY_GAP_CODE} and whose message
 * starts with {@link HISTORY_GAP_MESSAGE_PREFIX}. Both survive tRPC's default error formatter (and
 * any formatter that spreads the default shape), so a stock `@trpc/client` sees them as
 * `err.data.code` and `err.message` on its `TRPCClientError`. See PROTOCOL.md § "Broker streams".
 *
 * This module imports nothing, so browser bundles can use {@link isHistoryGapError} cheaply.
 */

/** The tRPC error code (`TRPC_ERROR_CODE_KEY`) of a history gap: HTTP 412, JSON-RPC -32012. */
export const HISTORY_GAP_CODE = 'PRECONDITION_FAILED' as const;

/** Every history-gap error message starts with this token. */
export const HISTORY_GAP_MESSAGE_PREFIX = 'lanyard.history-gap' as const;

/**
 * True when `error` is a history gap: a server-side `HistoryGapError`, or the `TRPCClientError` a
 * client received for one (stock `@trpc/client` or ours). The app then reloads its state and
 * subscribes again without `lastEventId`.
 */
export function isHistoryGapError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { message } = error as { message?: unknown };
  if (typeof message !== 'string' || !message.startsWith(HISTORY_GAP_MESSAGE_PREFIX)) return false;
  // The client error carries the code in `data.code`, the server error in `code`; a formatter
  // may drop `data`, so a missing code is accepted and only a different one refuses.
  const { code, data } = error as { code?: unknown; data?: { code?: unknown } | null };
  const clientCode = typeof data === 'object' && data !== null ? data.code : undefined;
  const found = typeof code === 'string' ? code : clientCode;
  return found === undefined || found === HISTORY_GAP_CODE;
}
