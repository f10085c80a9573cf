import type { SessionBase } from '../auth/types.js';
import type { StreamRegistry } from '../streamRegistry.js';

/** What `createHttpAuth` leaves on a request's context for `sessionLifecycle`. */
export interface HttpSessionRecord<TSession extends SessionBase> {
  readonly session: TSession;
  readonly expiresAt: number | null;
  readonly refreshAheadMs: number;
  readonly registry: StreamRegistry<TSession>;
}

/** The context key of the {@link HttpSessionRecord} (a symbol: no app key collides with it). */
export const HTTP_SESSION: unique symbol = Symbol.for('trpc-lanyard.httpSession');

/** The record on `ctx`, if `createHttpAuth` made this context. */
export function httpSessionOf(ctx: unknown): HttpSessionRecord<SessionBase> | undefined {
  if (typeof ctx !== 'object' || ctx === null) return undefined;
  return (ctx as { [HTTP_SESSION]?: HttpSessionRecord<SessionBase> })[HTTP_SESSION];
}
