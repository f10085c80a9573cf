/**
 * The auth-lifecycle extension frames (PROTOCOL.md § 5.1) as the client reads and writes them.
 * Only ever exchanged with a server that said `lanyard.hello`.
 */
import type { AuthenticatedResult, AuthenticateMessage, RefreshRequest, SessionNotification } from '../../protocol/index.js';
import { AuthRefusalReason } from '../../protocol/index.js';
import type { ConnectionParams } from '../options.js';

/**
 * The `lanyard.authenticate` message carrying fresh credentials on request id `id`; `answers`:
 * the `seq` of the newest `lanyard.refresh` received when their fetch began (none: absent).
 */
export function authenticateMessage(id: number, connectionParams: ConnectionParams, answers: number | undefined): AuthenticateMessage {
  const credentials = (connectionParams ?? null) as AuthenticateMessage['params']['connectionParams'];
  return {
    id,
    method: 'lanyard.authenticate',
    params: answers === undefined ? { connectionParams: credentials } : { connectionParams: credentials, answers },
  };
}

/** The `seq` of a `lanyard.refresh` request, or `undefined` when it carries no valid one. */
export function refreshSeqOf(message: RefreshRequest): number | undefined {
  const seq = (message.params as { seq?: unknown } | undefined)?.seq;
  return typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 ? seq : undefined;
}

/** Why the server refused a `lanyard.authenticate` and kept the socket (`error.data.lanyardReason`), if it said. */
export function refusalReasonOf(answer: object): AuthRefusalReason | undefined {
  const reason = (answer as { error?: { data?: { lanyardReason?: unknown } } }).error?.data?.lanyardReason;
  return reason === AuthRefusalReason.NotFresher || reason === AuthRefusalReason.RateLimited ? reason : undefined;
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
