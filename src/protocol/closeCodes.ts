/**
 * Every close code a trpc-lanyard server uses, and what a client does next.
 * The single table of record is `PROTOCOL.md` § Close codes; keep the two in step.
 *
 * Codes 4000–4999 are the private-use range of RFC 6455 § 7.4.2. Where a code
 * mirrors an HTTP status its last three digits are that status.
 */
export const CloseCode = {
  /** 1000: closed on purpose by either side; the client does not reconnect unless it wants to. */
  Normal: 1000,
  /** 1001: the server is shutting down (`handler.close()`); the client reconnects with backoff. */
  GoingAway: 1001,
  /** 1009: `ws` itself refused a frame larger than the server's `maxPayload` on a socket our handler does not serve (ours get {@link CloseCode.PayloadTooLarge}). */
  MessageTooBig: 1009,
  /** 4400: a frame that cannot be a tRPC message where only one would do: a malformed `connectionParams` frame, or any malformed frame before authentication. The client reconnects with backoff. */
  BadRequest: 4400,
  /** 4401: the credentials were refused (`UNAUTHORIZED`). The client refreshes its credentials, then reconnects. */
  Unauthorized: 4401,
  /** 4403: the principal may not connect (`FORBIDDEN`). The client stops and surfaces the error. */
  Forbidden: 4403,
  /** 4408: no `connectionParams` frame within `authTimeoutMs`. The client reconnects with backoff. */
  AuthTimeout: 4408,
  /** 4410: the server revoked the session. The client stops and surfaces the error. */
  Revoked: 4410,
  /** 4413: a frame larger than `maxPayloadBytes` (smaller before authentication), refused from its header. The client reconnects with backoff; the request that was too large is not retried. */
  PayloadTooLarge: 4413,
  /** 4419: the session expired and was not refreshed in time. The client refreshes its credentials, then reconnects. */
  SessionExpired: 4419,
  /** 4429: the client sent more than the server allows (e.g. frames queued before authentication). The client reconnects with backoff. */
  RateLimited: 4429,
  /** 4500: `createContext` or the server failed while setting up the connection. The client reconnects with backoff. */
  InternalError: 4500,
  /** 4507: the client reads too slowly: more than `maxBufferedBytes` waited in the server's send buffer. The client reconnects with backoff (subscriptions resume from their last tracked event). */
  SlowConsumer: 4507,
} as const;

/** One of the numbers in {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

const names = new Map<number, string>(Object.entries(CloseCode).map(([name, code]) => [code, name]));

/** The name of a close code (`'AuthTimeout'` for 4408), or `undefined` for a code this library does not use. */
export function closeCodeName(code: number): string | undefined {
  return names.get(code);
}

/** The most bytes of UTF-8 a close frame's reason may have (RFC 6455 § 5.5: 125 bytes of payload, 2 for the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `reason` cut to {@link MAX_CLOSE_REASON_BYTES} bytes of UTF-8 at a character boundary (`ws` throws on a
 * longer one). Reasons from the app (`revoke`), or read from a store, pass through this before a close.
 */
export function fitCloseReason(reason: string): string {
  if (reason.length <= MAX_CLOSE_REASON_BYTES / 3) return reason; // 3 bytes a UTF-16 unit at most
  const encoder = new TextEncoder();
  if (encoder.encode(reason).byteLength <= MAX_CLOSE_REASON_BYTES) return reason;
  let fitted = '';
  let bytes = 0;
  for (const char of reason) {
    const size = encoder.encode(char).byteLength;
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    fitted += char;
    bytes += size;
  }
  return fitted;
}
