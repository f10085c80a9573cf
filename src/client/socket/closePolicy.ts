import { CloseCode } from '../../protocol/index.js';

/**
 * What the client does after its socket closed:
 * - `'retry'`: reconnect with backoff;
 * - `'refresh-then-retry'`: reconnect with backoff, the next socket asking `connectionParams`
 *   for NEW credentials (`{ reason: 'refused' }`; nothing is cached between sockets, so a
 *   function is always called again) — a token source then fetches a new token instead of
 *   serving the refused one;
 * - `'stop'`: do not reconnect; every request and subscription fails with the close as its
 *   cause, and `connectionState` becomes `{ state: 'connecting', error }` with no attempt
 *   scheduled (the stock state type lets only `connecting` carry an error). The next request
 *   starts a new attempt.
 */
export type CloseDecision = 'retry' | 'refresh-then-retry' | 'stop';

/**
 * The one place that decides what a close code means for the client.
 * `undefined` is a socket that never opened or that the client gave up on itself.
 */
export function decideAfterClose(code: number | undefined): CloseDecision {
  switch (code) {
    case CloseCode.Forbidden: // the principal may not connect at all: a retry would be refused again
    case CloseCode.Revoked: // the server ended the session on purpose: coming straight back would undo that
      return 'stop';
    case CloseCode.Unauthorized: // the credentials were refused: the next socket must carry fresh ones
    case CloseCode.SessionExpired: // the session expired unrefreshed: the next socket must carry fresh ones
      return 'refresh-then-retry';
    // Everything else — Normal (1000) from the server, GoingAway (1001), abnormal closes
    // (1005/1006), BadRequest, AuthTimeout, PayloadTooLarge, RateLimited, InternalError, SlowConsumer,
    // and codes this library does not know — is transient: reconnect with backoff.
    default:
      return 'retry';
  }
}

/** A socket that stayed ready this long without answering anything still counts as accepted. */
export const STABLE_SOCKET_MS = 5_000;

/** What {@link wasAccepted} needs to know about a closed socket. */
export interface ClosedSocketRecord {
  /** The server answered a call on it. */
  readonly answered: boolean;
  /** An `id: null` error the server sent before answering anything, if any. */
  readonly rejection: unknown;
  /** When it became ready (`Date.now()`), or `undefined` if it never did. */
  readonly readyAtMs: number | undefined;
}

/**
 * Whether the server had accepted a socket that has now closed, so that the backoff restarts
 * at attempt 0: it answered a call, or it stayed ready for {@link STABLE_SOCKET_MS} and closed
 * with a plain `'retry'` code without rejecting us first. A server that accepts the handshake
 * and then drops every socket at once (trpc/trpc#4774), or refuses the credentials, therefore
 * meets a growing backoff, not a reconnect storm.
 */
export function wasAccepted(socket: ClosedSocketRecord, decision: CloseDecision, nowMs: number): boolean {
  if (socket.answered) return true;
  if (socket.readyAtMs === undefined || socket.rejection !== undefined || decision !== 'retry') return false;
  return nowMs - socket.readyAtMs >= STABLE_SOCKET_MS;
}
