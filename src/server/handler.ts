import type { AnyRouter } from '@trpc/server';
import { CloseCode } from '../protocol/closeCodes.js';
import type { ReconnectNotification } from '../protocol/messages.js';
import { LANYARD_PROTOCOL_VERSION } from '../protocol/messages.js';
import type { RouterSession, SessionBase } from './auth/types.js';
import { authDefaults } from './auth/types.js';
import type { ConnectionRequest, ConnectionShared } from './connection.js';
import { Connection } from './connection.js';
import { FrameBuilder } from './frames.js';
import type { CoreHandlerOptions } from './options.js';
import { coreHandlerDefaults } from './options.js';
import type { ServerSocket } from './socket.js';

/** What `revoke` takes besides the filter. */
export interface RevokeOptions {
  /** The close reason the client sees (≤ 123 bytes of UTF-8). @default 'session revoked' */
  reason?: string;
}

/** The transport-agnostic server: every adapter wraps one. */
export interface CoreHandler<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase = SessionBase> {
  /** Serves a newly opened socket; the adapter feeds it frames and tells it when the socket closes. */
  connect(socket: ServerSocket, request: ConnectionRequest<TReq, TRes>): Connection<TRouter, TReq, TRes, TSession>;
  /** The open connections. */
  readonly connections: ReadonlySet<Connection<TRouter, TReq, TRes, TSession>>;
  /** Sends tRPC's `reconnect` notification, encoded once, to every open connection. */
  broadcastReconnectNotification(): void;
  /**
   * Ends every authenticated session for which `filter` is true (close 4410); returns how many.
   * A session still being authenticated when it is called is checked against `filter` before it
   * goes live (and closed with 4410 if it matches); those are not counted.
   */
  revoke(filter: (session: TSession) => boolean, options?: RevokeOptions): number;
  /**
   * Asks every client whose session matches `filter` for fresh credentials now (trpc-lanyard
   * clients in band, stock clients by tRPC's `reconnect`); one that has not re-authenticated
   * within `authTimeoutMs` is closed with 4408. Returns how many were asked.
   */
  requestReauthentication(filter: (session: TSession) => boolean): number;
  /** Closes every connection with `code` (default 1001, going away) and stops the handler's timers. */
  closeAll(code?: number, reason?: string): void;
}

/** Builds the core of a handler from the options shared by every adapter. */
export function createCoreHandler<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase = RouterSession<TRouter>>(
  options: CoreHandlerOptions<TRouter, TReq, TRes, TSession>,
): CoreHandler<TRouter, TReq, TRes, TSession> {
  const connections = new Set<Connection<TRouter, TReq, TRes, TSession>>();
  const frames = new FrameBuilder(options.router, options.experimental_encoder);
  const maxPayloadBytes = options.maxPayloadBytes ?? coreHandlerDefaults.maxPayloadBytes;
  const maxBatchSize = options.maxBatchSize ?? coreHandlerDefaults.maxBatchSize;
  const shared: ConnectionShared<TRouter, TReq, TRes, TSession> = {
    options,
    frames,
    authTimeoutMs: options.authTimeoutMs ?? coreHandlerDefaults.authTimeoutMs,
    maxPayloadBytes,
    maxBatchSize,
    helloParams: Object.freeze({
      version: LANYARD_PROTOCOL_VERSION,
      maxPayloadBytes,
      ...(Number.isFinite(maxBatchSize) ? { maxBatchSize } : {}),
    }),
    // Without `authenticate` there is no "before auth": the one limit applies throughout.
    maxPayloadBytesBeforeAuth: options.authenticate
      ? (options.maxPayloadBytesBeforeAuth ?? authDefaults.maxPayloadBytesBeforeAuth)
      : maxPayloadBytes,
    maxQueuedCallsBeforeReady: options.maxQueuedCallsBeforeReady ?? coreHandlerDefaults.maxQueuedCallsBeforeReady,
    maxSubscriptions: options.maxSubscriptionsPerConnection ?? coreHandlerDefaults.maxSubscriptionsPerConnection,
    maxConcurrentCalls: options.maxConcurrentCallsPerConnection ?? coreHandlerDefaults.maxConcurrentCallsPerConnection,
    maxBufferedBytes: options.maxBufferedBytes ?? coreHandlerDefaults.maxBufferedBytes,
    onClosed: (connection) => connections.delete(connection),
  };
  // One timer for every connection's revalidation, not one per connection.
  const revalidation = options.revalidate
    ? setInterval(() => {
        for (const connection of connections) connection.auth.revalidate().catch(connection.reportUnexpected);
      }, options.revalidateIntervalMs ?? authDefaults.revalidateIntervalMs)
    : undefined;
  revalidation?.unref?.();

  // Filters only ever see a session: connections without one (not yet authenticated, or no
  // `authenticate`) are skipped; what `authenticate` returns is a checked object (`checkSession`).
  const matching = (filter: (session: TSession) => boolean) =>
    [...connections].filter((connection) => {
      const session = connection.auth.session;
      return session !== null && connection.isOpen && filter(session);
    });

  return {
    connections,
    connect(socket, request) {
      const connection = new Connection(socket, request, shared);
      connections.add(connection);
      connection.start();
      return connection;
    },
    broadcastReconnectNotification() {
      const notification: ReconnectNotification = { id: null, method: 'reconnect' };
      const frame = frames.message(notification);
      for (const connection of connections) connection.send(frame);
    },
    revoke(filter, { reason = 'session revoked' } = {}) {
      const revoked = matching(filter);
      for (const connection of revoked) connection.close(CloseCode.Revoked, reason);
      // Sessions still being authenticated (or replaced) are checked against it before they go live.
      for (const connection of connections) connection.auth.noteRevocation(filter, reason);
      return revoked.length;
    },
    requestReauthentication(filter) {
      const asked = matching(filter);
      for (const connection of asked) connection.auth.requestReauthentication();
      return asked.length;
    },
    closeAll(code = CloseCode.GoingAway, reason = 'server shutting down') {
      clearInterval(revalidation);
      for (const connection of [...connections]) connection.close(code, reason);
    },
  };
}
