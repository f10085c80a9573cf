export { applyWSSHandler, getWSConnectionHandler, handleKeepAlive, jsonEncoder, keepAliveDefaults } from '../adapters/ws/index.js';
export type {
  CreateWSSContextFn,
  CreateWSSContextFnOptions,
  KeepAliveOptions,
  WSConnectionHandlerOptions,
  WSHandlerControls,
  WSSHandlerOptions,
} from '../adapters/ws/index.js';
export { createCoreHandler } from './handler.js';
export type { CoreHandler, RevokeOptions } from './handler.js';
export { authDefaults } from './auth/types.js';
export type { AuthenticateOptions, AuthOptions, CredentialCarriers, RouterSession, SessionBase } from './auth/types.js';
export type { AllowedOrigins } from './auth/origin.js';
export { REDACTED } from './auth/credentials.js';
export type { Connection, ConnectionRequest } from './connection.js';
export { coreHandlerDefaults } from './options.js';
export { clusterDefaults } from './cluster/options.js';
export type { ClusterOptions, RevocationsUnavailable } from './cluster/options.js';
export type { ClusterResult, ClusterRevokeOptions, SessionKeyTarget } from '../broker/control/clusterControl.js';
export { endSubscriptionsDefaults } from '../broker/control/subscriptionTarget.js';
export type { EndSubscriptionsOptions, SubscriptionTarget } from '../broker/control/subscriptionTarget.js';
export type { SubscriptionFilter, SubscriptionInfo } from './endSubscriptions.js';
export type { CoreHandlerOptions, CreateContextOptions, Encoder, ErrorInfo } from './options.js';
export type { ServerSocket } from './socket.js';
export type { HandlerControls } from './adapterSupport.js';
export { Phase } from './state.js';
export { CloseCode } from '../protocol/closeCodes.js';
export { requireGrant, requireGrantDefaults } from './grants/requireGrant.js';
export type { GrantBase, RequireGrantOptions, VerifyGrantOptions } from './grants/requireGrant.js';
export { GRANT_INPUT_KEY, grantErrorReason, GrantReason } from '../protocol/grants.js';
export { createHttpAuth, httpAuthDefaults } from './http/httpAuth.js';
export type { HttpAuth, HttpAuthOptions } from './http/httpAuth.js';
export { sessionLifecycle } from './http/sessionLifecycle.js';
export { shouldRetryWithFreshCredentials, streamEndReason, StreamEndReason } from '../protocol/streamEnd.js';
