/**
 * The auth-lifecycle extension frames (PROTOCOL.md § 5.1) as the client reads and writes them.
 * Only ever exchanged with a server that said `lanyard.hello`.
 */
import type { AuthenticatedResult, AuthenticateMessage, RefreshRequest, SessionNotification } from '../protocol/index.js';
import type { ConnectionParams } from './options.js';

/** The `lanyard.authenticate` message carrying fresh credentials on request id `id`. */
export function authenticateMessage(id: number, connectionParams: ConnectionParams): AuthenticateMessage {
  return {
    id,
    method: 'lanyard.authenticate',
    params: { connectionParams: (connectionParams ?? null) as AuthenticateMessage['params']['connectionParams'] },
  };
}

/** The session of a `lanyard.session` frame, or `null` when `message` is not a well-formed one. */
export function readSession(message: object): AuthenticatedResult | null {
  if ((message as { method?: unknown }).method !== 'lanyard.session') return null;
  return readAuthenticated((message as Partial<SessionNotification>).params);
}

/** Whether `message` is a `lanyard.refresh` request. */
export function isRefreshRequest(message: object): message is RefreshRequest {
  return (message as { method?: unknown }).method === 'lanyard.refresh';
}

/**
 * `{ expiresAt }` from the `data` of an accepted `lanyard.authenticate` (or the params of
 * `lanyard.session`); `null` when it is not that shape. An `expiresAt` that is not a finite
 * number reads as `null` (no expiry known).
 */
export function readAuthenticated(data: unknown): AuthenticatedResult | null {
  if (typeof data !== 'object' || data === null) return null;
  const { expiresAt } = data as { expiresAt?: unknown };
  return { expiresAt: typeof expiresAt === 'number' && Number.isFinite(expiresAt) ? expiresAt : null };
}
