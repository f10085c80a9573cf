/**
 * The signal of a subscription the server ended on purpose (`handler.endSubscriptions`), as it
 * reaches a client: an error on the subscription's id whose `data.lanyardReason` is
 * {@link SUBSCRIPTION_ENDED_REASON} (added after the router's `errorFormatter`, so it is always
 * there), with the tRPC code the server chose. The socket and every other subscription go on.
 * See PROTOCOL.md § 4.3.
 *
 * This module imports nothing, so browser bundles can use {@link isSubscriptionEndedError} cheaply.
 */

/** `error.data.lanyardReason` of a subscription ended by `endSubscriptions`. */
export const SUBSCRIPTION_ENDED_REASON = 'subscription-ended' as const;

/**
 * True when `error` (the `TRPCClientError` a subscription's `onError` received, from stock
 * `@trpc/client` or ours) says the server ended the subscription on purpose. Neither client
 * subscribes it again by itself; with tRPC's `retryLink`, return false from `retry` for it, or
 * the link subscribes again at once.
 */
export function isSubscriptionEndedError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { data, shape, message } = error as { data?: unknown; shape?: { data?: unknown } | null; message?: unknown };
  if (reasonOf(data) === SUBSCRIPTION_ENDED_REASON || reasonOf(shape?.data) === SUBSCRIPTION_ENDED_REASON) return true;
  // Over SSE (`createHttpAuth`) there is no `data.lanyardReason`: the message says it.
  return typeof message === 'string' && message.startsWith(`lanyard.${SUBSCRIPTION_ENDED_REASON}:`);
}

function reasonOf(data: unknown): unknown {
  return typeof data === 'object' && data !== null ? (data as { lanyardReason?: unknown }).lanyardReason : undefined;
}
