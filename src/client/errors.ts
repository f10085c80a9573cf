import { TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import type { Connection, ConnectionTransition } from './socket/connection.js';
import { TransitionReason } from './socket/connectionState.js';

/**
 * Why a request failed or a socket was given up: the socket closed (or never opened).
 * It is the `cause` of the `TRPCClientError` the caller sees, like tRPC's own error of the
 * same name, with the same `message` (`'WebSocket closed'`); what tRPC's does not say is in
 * fields: {@link TRPCWebSocketClosedError.code} and {@link TRPCWebSocketClosedError.reason}.
 */
export class TRPCWebSocketClosedError extends Error {
  /** The close code (`CloseCode`; `closeCodeName(code)` names ours), when the socket reported one. */
  public readonly code: number | undefined;
  /**
   * The reason string the server gave in its close frame (e.g. the reason passed to the
   * server's `revoke()`); else, when the client gave up on the socket itself, why (a
   * `TransitionReason`: `'pong-timeout'`, `'dial-failed'`); else `undefined`.
   */
  public readonly reason: string | undefined;

  constructor(opts: { message: string; code?: number; reason?: string | undefined; cause?: unknown }) {
    super(opts.message, { cause: opts.cause });
    this.name = 'TRPCWebSocketClosedError';
    this.code = opts.code;
    this.reason = opts.reason;
    Object.setPrototypeOf(this, TRPCWebSocketClosedError.prototype);
  }
}

/** The message of every close error, exactly tRPC's own. */
const WEBSOCKET_CLOSED_MESSAGE = 'WebSocket closed';

/**
 * The error for a socket that closed with `code`: tRPC's message, the code, and the server's
 * close reason — or `why` when the client itself gave up on the socket (e.g. `'pong-timeout'`).
 */
function socketClosedError(code: number | undefined, cause?: unknown, why?: string): TRPCWebSocketClosedError {
  return new TRPCWebSocketClosedError({ message: WEBSOCKET_CLOSED_MESSAGE, code, reason: closeReasonOf(cause) ?? why, cause });
}

/** The non-empty `reason` of a close event, else `undefined`. */
function closeReasonOf(cause: unknown): string | undefined {
  const reason = (cause as { reason?: unknown } | null | undefined)?.reason;
  return typeof reason === 'string' && reason !== '' ? reason : undefined;
}

/**
 * The credential source (`connectionParams`) threw or rejected with `cause`: the error callers,
 * `connectionState.error` and `authState`'s `authError` see, with `cause` as its `cause`.
 */
function credentialsError(cause: unknown): TRPCClientError<AnyTRPCRouter> {
  return TRPCClientError.from(cause instanceof Error ? cause : new Error(String(cause), { cause }));
}

/** An `error` event carrying `error` (as a browser's `ErrorEvent` does), for `onError`. */
export function errorEventOf(error: unknown): Event {
  const event = typeof Event === 'function' ? new Event('error') : ({ type: 'error' } as Event);
  return Object.assign(event, { error, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Why calls on a closed socket fail: the credential source's error when it failed (see
 * {@link credentialsError}); else the close itself, or — when the server refused the
 * connection with an `id: null` error before answering anything (e.g. `createContext` threw) —
 * that error, with the close as its cause.
 */
export function closeErrorOf(connection: Connection, change: ConnectionTransition): Error {
  if (change.reason === TransitionReason.ParamsFailed) return credentialsError(change.cause);
  const why = change.reason === TransitionReason.SocketClosed ? undefined : change.reason;
  const closed = socketClosedError(change.closeCode, change.cause, why);
  const { rejection } = connection;
  return rejection === undefined ? closed : TRPCClientError.from(rejection as object, { cause: closed });
}
