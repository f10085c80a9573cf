import type { AnyRouter } from '@trpc/server';
import { CloseCode } from '../protocol/closeCodes.js';
import type { ReconnectNotification } from '../protocol/messages.js';
import type { ConnectionRequest, ConnectionShared } from './connection.js';
import { Connection } from './connection.js';
import { FrameBuilder } from './frames.js';
import type { CoreHandlerOptions } from './options.js';
import { coreHandlerDefaults } from './options.js';
import type { ServerSocket } from './socket.js';

/** The transport-agnostic server: every adapter wraps one. */
export interface CoreHandler<TRouter extends AnyRouter, TReq, TRes> {
  /** Serves a newly opened socket; the adapter feeds it frames and tells it when the socket closes. */
  connect(socket: ServerSocket, request: ConnectionRequest<TReq, TRes>): Connection<TRouter, TReq, TRes>;
  /** The open connections. */
  readonly connections: ReadonlySet<Connection<TRouter, TReq, TRes>>;
  /** Sends tRPC's `reconnect` notification, encoded once, to every open connection. */
  broadcastReconnectNotification(): void;
  /** Closes every connection with `code` (default 1001, going away) and refuses none later. */
  closeAll(code?: number, reason?: string): void;
}

/** Builds the core of a handler from the options shared by every adapter. */
export function createCoreHandler<TRouter extends AnyRouter, TReq, TRes>(
  options: CoreHandlerOptions<TRouter, TReq, TRes>,
): CoreHandler<TRouter, TReq, TRes> {
  const connections = new Set<Connection<TRouter, TReq, TRes>>();
  const frames = new FrameBuilder(options.router, options.experimental_encoder);
  const shared: ConnectionShared<TRouter, TReq, TRes> = {
    options,
    frames,
    authTimeoutMs: options.authTimeoutMs ?? coreHandlerDefaults.authTimeoutMs,
    maxPayloadBytes: options.maxPayloadBytes ?? coreHandlerDefaults.maxPayloadBytes,
    maxQueuedCallsBeforeReady: options.maxQueuedCallsBeforeReady ?? coreHandlerDefaults.maxQueuedCallsBeforeReady,
    onClosed: (connection) => connections.delete(connection),
  };
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
    closeAll(code = CloseCode.GoingAway, reason = 'server shutting down') {
      for (const connection of [...connections]) connection.close(code, reason);
    },
  };
}
