import type { AnyRouter } from '@trpc/server';
import { CloseCode } from '../../protocol/closeCodes.js';
import { PING } from '../../protocol/messages.js';
import type { HandlerControls } from '../../server/adapterSupport.js';
import { createAdapterCore, reportOriginPredicateError } from '../../server/adapterSupport.js';
import { isOriginAllowed } from '../../server/auth/origin.js';
import type { RouterSession, SessionBase } from '../../server/auth/types.js';
import type { KeepAliveOptions } from '../../server/keepAlive.js';
import type { CoreHandlerOptions, CreateContextOptions } from '../../server/options.js';
import { originOf, UpgradeRequest } from '../../server/upgradeRequest.js';
import type { UWSSettings } from './settings.js';
import { routeSettings } from './settings.js';
import { protocolViolation } from './protocolViolation.js';
import { UWSServerSocket } from './socket.js';
import { turnFlush } from '../../server/turnFlush.js';
import type { UWSApp, UWSUpgradeRequest, UWSWebSocket } from './types.js';
import { readUpgrade, refuseUpgrade } from './upgrade.js';
import type { UserData } from './userData.js';
import { SocketState } from './userData.js';

export { keepAliveDefaults } from '../../server/keepAlive.js';
export type { KeepAliveOptions } from '../../server/keepAlive.js';
export { uwsSettingsDefaults } from './settings.js';
export type { UWSSettings } from './settings.js';
export type { UWSApp, UWSBehavior, UWSHttpRequest, UWSHttpResponse, UWSSocketContext, UWSUpgradeRequest, UWSWebSocket } from './types.js';

/** The socket `createContext` gets as `res`: valid until the connection closes (uWS throws on any later call). */
export type UWSSocket = UWSWebSocket<unknown>;

/** What `createContext` gets with uWS: a copy of the upgrade request, the socket, `info` and the session. */
export type CreateUWSContextFnOptions<TSession = SessionBase> = CreateContextOptions<UWSUpgradeRequest, UWSSocket, TSession>;

/** The options of {@link applyUWSHandler}: those of `applyWSSHandler` (but `wss`, `prefix` and the ignored stock ones), plus `uws`. */
export interface UWSHandlerOptions<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>>
  extends CoreHandlerOptions<TRouter, UWSUpgradeRequest, UWSSocket, TSession> {
  /**
   * Pings quiet clients with tRPC's application-level `PING` and terminates those that stop
   * answering (the client sees 1006): the same option, and the same frames, as with `ws`.
   * uWS's own idle timeout ({@link UWSSettings.idleTimeoutSec}) works alongside it.
   */
  keepAlive?: KeepAliveOptions;
  /** uWS's own settings of the route, passed through. */
  uws?: UWSSettings;
}

/** What {@link applyUWSHandler} returns: the controls every adapter's handler has (see {@link HandlerControls}). */
export type UWSHandlerControls<TSession extends SessionBase = SessionBase> = HandlerControls<TSession>;

/**
 * Serves a router on a uWebSockets.js app: adds a WebSocket route (`app.ws(pattern, …)`) to
 * `app` (`uWS.App()` or `uWS.SSLApp()`, v20.30 or later; trpc-lanyard does not depend on uWS).
 * Same options and controls as `applyWSSHandler`, with `uws` for uWS's own route settings.
 *
 * Where uWS differs from `ws`:
 * - `req` (in `createContext`, `authenticate`, `onError`, `allowedOrigins`) is a copy of the
 *   upgrade request ({@link UWSUpgradeRequest}); `res` is the uWS socket, unusable once closed.
 * - A frame over `maxPayloadBytes` is refused by uWS from its header and the TCP connection is
 *   closed without a close frame: the client sees **1006**, not 4413. Before authentication,
 *   frames over `maxPayloadBytesBeforeAuth` (and up to `maxPayloadBytes`) are received whole and
 *   then closed with 4413 (uWS has one limit per route, not per socket).
 * - uWS validates text frames as UTF-8 and closes on invalid ones without a close frame (1006;
 *   `ws` sends 1007).
 * - uWS's `maxBackpressure` is off (0): the core's `maxBufferedBytes` (4507) bounds each socket's
 *   send buffer, and uWS never drops a frame by itself.
 * - uWS's idle timeout (120 s, with automatic protocol pings) is on by default; see {@link UWSSettings}.
 *
 * With `allowedOrigins`, cross-origin upgrades are refused with HTTP 403 before the socket
 * opens (a throwing predicate too, reported to `onError`). After `close()`, sockets that still
 * open on the route are closed with 1001; stop listening (`us_listen_socket_close`) to refuse them.
 *
 * @typeParam TSession - what `authenticate` returns: the router context's `session` field
 * ({@link RouterSession}) unless `authenticate`'s parameter is annotated; or give it explicitly.
 */
export function applyUWSHandler<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>>(
  app: UWSApp,
  pattern: string,
  opts: UWSHandlerOptions<TRouter, TSession>,
): UWSHandlerControls<TSession> {
  const settings = routeSettings(opts.maxPayloadBytes, opts.uws);
  const adapter = createAdapterCore<TRouter, UWSUpgradeRequest, UWSSocket, TSession>(opts);
  const { core, sweeper } = adapter;
  const compress = (settings.compression ?? 0) !== 0;
  const readsCookies = Boolean(opts.credentials?.cookies);

  app.ws<UserData>(pattern, {
    ...settings,
    // uWS's HttpRequest is valid only during this call: everything is read and decided synchronously.
    upgrade: (res, req, context) => {
      turnFlush.releaseEarlier(null);
      const upgrade = readUpgrade(res, req, opts.credentials);
      const onPredicateError = (cause: unknown) => reportOriginPredicateError(opts, cause, upgrade.request);
      if (!isOriginAllowed(opts.allowedOrigins, originOf(upgrade.request.headers), upgrade.request, onPredicateError)) {
        refuseUpgrade(res, '403 Forbidden', 'Origin not allowed');
        return;
      }
      const userData: UserData = { lanyard: new SocketState(upgrade) };
      res.upgrade(userData, upgrade.secWebSocketKey, upgrade.secWebSocketProtocol, upgrade.secWebSocketExtensions, context);
    },
    open: (ws) => {
      if (adapter.closed) {
        ws.end(CloseCode.GoingAway, 'server shutting down');
        return;
      }
      const state = ws.getUserData().lanyard;
      const socket = new UWSServerSocket(ws, compress);
      state.socket = socket;
      const { request, queryToken } = state.upgrade;
      const connection = core.connect(socket, new UpgradeRequest(request, ws, request.url, request.headers, queryToken, readsCookies));
      state.connection = connection;
      if (sweeper && socket.isOpen) {
        state.keepAlive = sweeper.track(
          () => connection.send(PING),
          () => socket.terminate(),
        );
      }
    },
    // The ArrayBuffer is valid only during this call: text is decoded, binary copied, at once.
    message: (ws, message, isBinary) => {
      const state = ws.getUserData().lanyard;
      if (state.keepAlive) state.keepAlive.active = true;
      const data = isBinary ? Buffer.from(new Uint8Array(message)) : Buffer.from(message).toString('utf8');
      state.connection?.receive(data, message.byteLength);
    },
    drain: (ws) => ws.getUserData().lanyard.socket?.drained(),
    // The socket object is invalid from here on: nothing may touch it after this handler.
    close: (ws, code, message) => {
      const state = ws.getUserData().lanyard;
      state.socket?.markClosed();
      const violation = protocolViolation(code, message);
      if (violation) state.connection?.errors.report(violation, 'unknown', undefined, undefined);
      if (state.keepAlive) sweeper?.untrack(state.keepAlive);
      state.keepAlive = null;
      state.connection?.closed();
      state.connection = null;
    },
  });

  return adapter.controls;
}
