import type { IncomingMessage } from 'node:http';
import type { AnyRouter, inferRouterContext } from '@trpc/server';
import type { WebSocket, WebSocketServer } from 'ws';
import type { RouterSession, SessionBase } from '../../server/auth/types.js';
import type { CreateContextOptions } from '../../server/options.js';
import type { HandlerControls } from '../../server/adapterSupport.js';
import { reportOriginPredicateError } from '../../server/adapterSupport.js';
import { STREAM_REGISTRY } from '../../server/streamRegistry.js';
import { holdUntilTurnEnds } from '../../server/turnFlush.js';
import type { WsServingOptions } from './serveSocket.js';
import { createSocketHandler } from './serveSocket.js';
import { installUpgradeChecks } from './upgrade.js';

export { keepAliveDefaults } from '../../server/keepAlive.js';
export type { KeepAliveOptions } from '../../server/keepAlive.js';
/**
 * Stock's own helpers of `@trpc/server/adapters/ws`, re-exported so that an import line naming them
 * keeps working when it moves to `trpc-lanyard/server`: `jsonEncoder` (the default wire format, as
 * an `experimental_encoder`) and `handleKeepAlive(ws, pingMs, pongWaitMs)` (stock's keep-alive for a
 * raw `ws` socket; our handler has its own, `keepAlive`).
 */
export { handleKeepAlive, jsonEncoder } from '@trpc/server/adapters/ws';

/** What `createContext` gets with `ws`: the upgrade request, the socket, `info` and the session. */
export type CreateWSSContextFnOptions<TSession = SessionBase> = CreateContextOptions<IncomingMessage, WebSocket, TSession>;

/** Stock's name for a `createContext` of this adapter. */
export type CreateWSSContextFn<TRouter extends AnyRouter, TSession = SessionBase> = (
  opts: CreateWSSContextFnOptions<TSession>,
) => inferRouterContext<TRouter> | Promise<inferRouterContext<TRouter>>;

/** The options of {@link getWSConnectionHandler}: every stock option plus ours. */
export type WSConnectionHandlerOptions<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>> = WsServingOptions<
  TRouter,
  IncomingMessage,
  TSession
>;

/** The options of {@link applyWSSHandler}. */
export interface WSSHandlerOptions<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>>
  extends WSConnectionHandlerOptions<TRouter, TSession> {
  /** The `ws` server to serve the router on. */
  wss: WebSocketServer;
  /**
   * Only connections whose URL path starts with this are served; others are left alone.
   * @default every connection
   */
  prefix?: string;
}

/** What both entry points return: the controls every adapter's handler has (see {@link HandlerControls}). */
export type WSHandlerControls<TSession extends SessionBase = SessionBase> = HandlerControls<TSession>;

/**
 * Returns a `ws` connection listener that serves a router, for your own `connection` handling.
 * The returned function also carries {@link WSHandlerControls}. With `allowedOrigins`, also
 * check the Origin at your upgrade (a socket that got this far is closed with 4403).
 */
export function getWSConnectionHandler<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>>(
  opts: WSConnectionHandlerOptions<TRouter, TSession>,
): ((ws: WebSocket, req: IncomingMessage) => void) & WSHandlerControls<TSession> {
  return createSocketHandler<TRouter, IncomingMessage, TSession>(opts, (req) => req);
}

/**
 * Serves a router on a `ws` server: the drop-in replacement for stock tRPC's
 * `applyWSSHandler`, with the same options and return value, plus the auth lifecycle.
 * With `allowedOrigins`, cross-origin upgrades are refused before the socket opens.
 *
 * @typeParam TSession - what `authenticate` returns: the router context's `session` field
 * ({@link RouterSession}) unless `authenticate`'s parameter is annotated; or give it explicitly.
 */
export function applyWSSHandler<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>>(
  opts: WSSHandlerOptions<TRouter, TSession>,
): WSHandlerControls<TSession> {
  const onConnection = getWSConnectionHandler(opts);
  if (opts.allowedOrigins || opts.credentials?.queryParam) {
    installUpgradeChecks(opts.wss, {
      prefix: opts.prefix,
      allowedOrigins: opts.allowedOrigins,
      credentials: opts.credentials,
      onPredicateError: (cause, req) => reportOriginPredicateError(opts, cause, req),
    });
  }
  const listener = (ws: WebSocket, req: IncomingMessage) => {
    if (opts.prefix && !req.url?.startsWith(opts.prefix)) return;
    onConnection(ws, req);
  };
  // `ws` emits 'headers' just before it writes an accepted upgrade's 101 response: holding the
  // socket's writes until the turn ends lets the response, `lanyard.hello` and (with credentials
  // in the upgrade) the session leave in one write instead of two or three.
  opts.wss.on('headers', (_headers: string[], req: IncomingMessage) => {
    if (!opts.prefix || req.url?.startsWith(opts.prefix)) holdUntilTurnEnds(req.socket);
  });
  opts.wss.on('connection', listener);
  return {
    broadcastReconnectNotification: onConnection.broadcastReconnectNotification,
    revoke: onConnection.revoke,
    requestReauthentication: onConnection.requestReauthentication,
    endSubscriptions: onConnection.endSubscriptions,
    [STREAM_REGISTRY]: onConnection[STREAM_REGISTRY],
    // The listener and the Origin check stay: a closed handler keeps refusing new sockets
    // (1001) instead of leaving `ws` to accept sockets nobody serves.
    close: () => onConnection.close(),
  };
}
