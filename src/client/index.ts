/**
 * `trpc-lanyard/client`: a drop-in replacement for `createWSClient` and `wsLink` from
 * `@trpc/client`, with full-jitter backoff, make-before-break reconnects, subscriptions
 * resumed from their last tracked event, one close policy, and negotiated extensions.
 */
import type { WebSocketClientOptions } from './options.js';
import { WsClient } from './wsClient.js';

/**
 * Creates a WebSocket client for tRPC; pass it to {@link wsLink}. Accepts every option of
 * tRPC's own `createWSClient`.
 */
export function createWSClient(opts: WebSocketClientOptions): WsClient {
  return new WsClient(opts);
}

/** The client {@link createWSClient} returns. */
export type TRPCWebSocketClient = WsClient;

export { WsClient } from './wsClient.js';
export type { ClientStats, SessionInfo, WsAuthState, WsConnectionState, WsRequestOptions } from './wsClient.js';
export { AuthState } from './auth/authState.js';
export { CredentialsReason } from './auth/credentials.js';
export type { CredentialsRequest } from './auth/credentials.js';
export { createTokenSource, jwtExpiresAtMs, tokenSourceDefaults } from './auth/tokenSource.js';
export type { TokenSource, TokenSourceOptions } from './auth/tokenSource.js';
export type { AuthenticatedResult } from '../protocol/index.js';
export type { WsConnectionInfo } from './socket/connection.js';
export { wsLink } from './wsLink.js';
export type { WebSocketLinkOptions } from './wsLink.js';
export type { GrantOption, GrantProvider, GrantRequest, GrantRequestReason } from './grants/types.js';
export { jsonEncoder, keepAliveDefaults, lazyDefaults } from './options.js';
export type {
  CallbackOrValue,
  ConnectionParams,
  ConnectionParamsOption,
  KeepAliveOptions,
  LazyOptions,
  WebSocketClientOptions,
} from './options.js';
export { backoffDefaults, fullJitterBackoff } from './socket/backoff.js';
export type { BackoffOptions } from './socket/backoff.js';
export { decideAfterClose } from './socket/closePolicy.js';
export type { CloseDecision } from './socket/closePolicy.js';
export { TRPCWebSocketClosedError } from './errors.js';
export type { ServerInfo } from './socket/negotiation.js';
export { bearerEventSourceOptions, freshCredentialsRetry } from './auth/httpCredentials.js';
export type { BearerEventSourceOptions, EventSourceFetch, FreshCredentialsRetryOptions } from './auth/httpCredentials.js';
