import type { ResponseMessage } from './calls/call.js';
import type { ClientAuth } from './auth/clientAuth.js';
import type { Connection } from './socket/connection.js';
import type { ClientGrants } from './grants/clientGrants.js';
import type { RequestManager } from './calls/requestManager.js';

/** Who takes which incoming message. */
export interface InboundTargets {
  readonly requests: RequestManager;
  readonly auth: ClientAuth;
  readonly grants: ClientGrants;
  /** tRPC's `reconnect` notification arrived on `connection`. */
  onReconnectRequested(connection: Connection): void;
}

/**
 * Routes one decoded message from `connection` (never PING/PONG or hello):
 * - an answer (it has an id) to its call, or to our `lanyard.authenticate`; once the server
 *   refused the socket (an `id: null` error before any answer), error answers are the refusal
 *   repeated per call and only fail queries and mutations (see `RequestManager.handleRefused`);
 * - tRPC's `reconnect`, our auth frames and `lanyard.grant.refresh` (the connection read hello itself);
 *   other methods are ignored;
 * - an `id: null` error before any answer: the server refused the connection (e.g. `createContext`
 *   threw), kept on the connection and surfaced when it closes.
 */
export function routeInbound(connection: Connection, message: unknown, targets: InboundTargets): void {
  if (typeof message !== 'object' || message === null) return;
  const { id } = message as { id?: unknown };
  if (id !== null && id !== undefined) {
    const response = message as ResponseMessage;
    if (connection.rejection !== undefined && !connection.answered && 'error' in response) {
      targets.requests.handleRefused(connection, response);
      return;
    }
    if (
      targets.requests.handle(connection, response) ||
      targets.auth.handleAnswer(connection, response) ||
      targets.grants.handleAnswer(connection, response)
    ) {
      connection.answered = true;
    }
    return;
  }
  if ('method' in message) {
    if (message.method === 'reconnect') targets.onReconnectRequested(connection);
    else if (message.method === 'lanyard.grant.refresh') targets.grants.onRefreshRequest(connection, message);
    else targets.auth.onExtensionFrame(connection, message);
  } else if ('error' in message && !connection.answered) {
    connection.rejection = message;
  }
}
