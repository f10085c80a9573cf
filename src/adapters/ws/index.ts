import type { IncomingMessage } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import type { WebSocket, WebSocketServer } from 'ws';
import { CloseCode } from '../../protocol/closeCodes.js';
import { PING } from '../../protocol/messages.js';
import type { RouterSession, SessionBase } from '../../server/auth/types.js';
import type { CoreHandler } from '../../server/handler.js';
import { createCoreHandler } from '../../server/handler.js';
import type { CoreHandlerOptions, CreateContextOptions } from '../../server/options.js';
import type { HandlerControls } from '../../server/adapterSupport.js';
import { reportOriginPredicateError, warnOnRiskyOptions } from '../../server/adapterSupport.js';
import type { KeepAliveOptions } from '../../server/keepAlive.js';
import { keepAliveDefaults, KeepAliveSweeper } from '../../server/keepAlive.js';
import { MESSAGE_TOO_BIG } from './payloadLimit.js';
import { toBuffer, WsServerSocket } from './socket.js';
import { holdUntilTurnEnds } from '../../server/turnFlush.js';
import { installUpgradeChecks, readUpgrade, redactUpgradeUrl, upgradeOriginAllowed } from './upgrade.js';

export { keepAliveDefaults } from '../../server/keepAlive.js';
export type { KeepAliveOptions } from '../../server/keepAlive.js';

/** What `createContext` gets with `ws`: the upgrade request, the socket, `info` and the session. */
export type CreateWSSContextFnOptions<TSession = SessionBase> = CreateContextOptions<IncomingMessage, WebSocket, TSession>;

/** The options of {@link getWSConnectionHandler}: every stock option plus ours. */
export interface WSConnectionHandlerOptions<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>>
  extends CoreHandlerOptions<TRouter, IncomingMessage, WebSocket, TSession> {
  /** Pings quiet clients and terminates those that stop answering. */
  keepAlive?: KeepAliveOptions;
  /** Accepted for drop-in compatibility; like stock tRPC's WebSocket adapter, batches are always allowed. */
  allowBatching?: boolean;
  /** Accepted for drop-in compatibility; has no meaning over WebSockets. */
  allowMethodOverride?: boolean;
  /** Accepted for drop-in compatibility (deprecated in tRPC); ignored. */
  batching?: { enabled: boolean };
}

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

function serve<TRouter extends AnyRouter, TSession extends SessionBase>(
  core: CoreHandler<TRouter, IncomingMessage, WebSocket, TSession>,
  opts: WSConnectionHandlerOptions<TRouter, TSession>,
  sweeper: KeepAliveSweeper | null,
  ws: WebSocket,
  req: IncomingMessage,
): void {
  // Defence in depth for servers whose upgrade did not go through applyWSSHandler's check;
  // the token is cut out of the URL before the predicate sees it.
  redactUpgradeUrl(req, opts.credentials);
  if (!upgradeOriginAllowed(opts.allowedOrigins, req, (cause) => reportOriginPredicateError(opts, cause, req))) {
    ws.close(CloseCode.Forbidden, 'Origin not allowed');
    return;
  }
  const connection = core.connect(new WsServerSocket(ws), readUpgrade(req, ws, opts.credentials));
  const keepAlive = sweeper?.track(
    () => connection.send(PING),
    () => ws.terminate(),
  );
  ws.on('message', (data, isBinary) => {
    if (keepAlive) keepAlive.active = true;
    const bytes = toBuffer(data);
    connection.receive(isBinary ? bytes : bytes.toString('utf8'), bytes.byteLength);
  });
  // An unhandled 'error' would crash the process (e.g. "RSV2 and RSV3 must be clear").
  ws.on('error', (cause: Error & { code?: string }) => {
    if (cause.code === MESSAGE_TOO_BIG) return; // closed with 4413, like the core's own size check
    connection.errors.report(cause, 'unknown', undefined, undefined);
  });
  // `on`, not `once`: 'close' comes once, and `once` would keep a wrapper per socket.
  ws.on('close', () => {
    if (keepAlive) sweeper?.untrack(keepAlive);
    connection.closed();
  });
}

/**
 * Returns a `ws` connection listener that serves a router, for your own `connection` handling.
 * The returned function also carries {@link WSHandlerControls}. With `allowedOrigins`, also
 * check the Origin at your upgrade (a socket that got this far is closed with 4403).
 */
export function getWSConnectionHandler<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>>(
  opts: WSConnectionHandlerOptions<TRouter, TSession>,
): ((ws: WebSocket, req: IncomingMessage) => void) & WSHandlerControls<TSession> {
  warnOnRiskyOptions(opts.credentials, opts.allowedOrigins);
  const core = createCoreHandler<TRouter, IncomingMessage, WebSocket, TSession>(opts);
  const keepAlive = { ...keepAliveDefaults, ...opts.keepAlive };
  const sweeper = keepAlive.enabled ? new KeepAliveSweeper(keepAlive.pingMs, keepAlive.pongWaitMs) : null;
  let closed = false;
  const onConnection = (ws: WebSocket, req: IncomingMessage) => {
    if (closed) {
      ws.close(CloseCode.GoingAway, 'server shutting down');
      return;
    }
    serve(core, opts, sweeper, ws, req);
  };
  const controls: WSHandlerControls<TSession> = {
    broadcastReconnectNotification: core.broadcastReconnectNotification,
    revoke: core.revoke,
    requestReauthentication: core.requestReauthentication,
    close: () => {
      closed = true;
      sweeper?.stop();
      core.closeAll();
    },
  };
  return Object.assign(onConnection, controls);
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
    // The listener and the Origin check stay: a closed handler keeps refusing new sockets
    // (1001) instead of leaving `ws` to accept sockets nobody serves.
    close: () => onConnection.close(),
  };
}
