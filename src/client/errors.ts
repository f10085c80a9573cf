import { closeCodeName } from '../protocol/index.js';

/**
 * Why a request failed or a socket was given up: the socket closed (or never opened).
 * It is the `cause` of the `TRPCClientError` the caller sees, like tRPC's own error of the
 * same name.
 */
export class TRPCWebSocketClosedError extends Error {
  /** The close code, when the socket reported one. */
  public readonly code: number | undefined;

  constructor(opts: { message: string; code?: number; cause?: unknown }) {
    super(opts.message, { cause: opts.cause });
    this.name = 'TRPCWebSocketClosedError';
    this.code = opts.code;
    Object.setPrototypeOf(this, TRPCWebSocketClosedError.prototype);
  }
}

/**
 * The error for a socket that closed with `code`, naming the code when it is one of ours,
 * and `why` when the client itself gave up on the socket (e.g. `'pong-timeout'`).
 */
export function socketClosedError(code: number | undefined, cause?: unknown, why?: string): TRPCWebSocketClosedError {
  const name = code === undefined ? undefined : closeCodeName(code);
  const what = code === undefined ? '' : name ? ` (${code} ${name})` : ` (${code})`;
  return new TRPCWebSocketClosedError({ message: `WebSocket closed${what}${why ? `: ${why}` : ''}`, code, cause });
}
