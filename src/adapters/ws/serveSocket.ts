import type { IncomingMessage } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import type { WebSocket } from 'ws';
import { CloseCode } from '../../protocol/closeCodes.js';
import { PING } from '../../protocol/messages.js';
import type { HandlerControls } from '../../server/adapterSupport.js';
import { createAdapterCore, reportOriginPredicateError } from '../../server/adapterSupport.js';
import type { SessionBase } from '../../server/auth/types.js';
import type { CoreHandler } from '../../server/handler.js';
import type { KeepAliveOptions, KeepAliveSweeper } from '../../server/keepAlive.js';
import type { CoreHandlerOptions } from '../../server/options.js';
import { MESSAGE_TOO_BIG } from './payloadLimit.js';
import { toBuffer, WsServerSocket } from './socket.js';
import { readUpgrade, redactUpgradeUrl, upgradeOriginAllowed } from './upgrade.js';

/**
 * The options of a handler that serves `ws` WebSockets, whatever request object the app's
 * callbacks get as `req` (`TReq`: Node's `IncomingMessage` for `ws`, a `FastifyRequest` for Fastify).
 */
export interface WsServingOptions<TRouter extends AnyRouter, TReq, TSession extends SessionBase>
  extends CoreHandlerOptions<TRouter, TReq, WebSocket, TSession> {
  /** Pings quiet clients and terminates those that stop answering. */
  keepAlive?: KeepAliveOptions;
  /** Accepted for drop-in compatibility; like stock tRPC's WebSocket adapter, batches are always allowed. */
  allowBatching?: boolean;
  /** Accepted for drop-in compatibility; has no meaning over WebSockets. */
  allowMethodOverride?: boolean;
  /** Accepted for drop-in compatibility (deprecated in tRPC); ignored. */
  batching?: { enabled: boolean };
}

function serve<TRouter extends AnyRouter, TReq, TSession extends SessionBase>(
  core: CoreHandler<TRouter, TReq, WebSocket, TSession>,
  opts: WsServingOptions<TRouter, TReq, TSession>,
  sweeper: KeepAliveSweeper | null,
  ws: WebSocket,
  req: TReq,
  raw: IncomingMessage,
): void {
  // Defence in depth for servers whose upgrade did not go through an adapter's own check;
  // the token is cut out of the URL before the predicate sees it.
  redactUpgradeUrl(raw, opts.credentials);
  if (!upgradeOriginAllowed(opts.allowedOrigins, req, raw, (cause) => reportOriginPredicateError(opts, cause, req))) {
    ws.close(CloseCode.Forbidden, 'Origin not allowed');
    return;
  }
  const connection = core.connect(new WsServerSocket(ws), readUpgrade(req, raw, ws, opts.credentials));
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
 * A connection listener that serves a router on `ws` WebSockets, carrying the handler's
 * {@link HandlerControls}. `rawRequest` gives the Node request under the app's `req` (the
 * identity for `ws`, `req.raw` for Fastify): headers, URL and the query-parameter token are read
 * from it, and its URL is the one redacted.
 */
export function createSocketHandler<TRouter extends AnyRouter, TReq, TSession extends SessionBase>(
  opts: WsServingOptions<TRouter, TReq, TSession>,
  rawRequest: (req: TReq) => IncomingMessage,
): ((ws: WebSocket, req: TReq) => void) & HandlerControls<TSession> {
  const adapter = createAdapterCore<TRouter, TReq, WebSocket, TSession>(opts);
  const onConnection = (ws: WebSocket, req: TReq) => {
    if (adapter.closed) {
      ws.close(CloseCode.GoingAway, 'server shutting down');
      return;
    }
    serve(adapter.core, opts, adapter.sweeper, ws, req, rawRequest(req));
  };
  return Object.assign(onConnection, adapter.controls);
}
