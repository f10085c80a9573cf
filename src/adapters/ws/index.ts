import type { IncomingMessage } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { CONNECTION_PARAMS_FLAG, LANYARD_FLAG } from '../../protocol/messages.js';
import type { CoreHandler } from '../../server/handler.js';
import { createCoreHandler } from '../../server/handler.js';
import type { CoreHandlerOptions, CreateContextOptions } from '../../server/options.js';
import type { ServerSocket } from '../../server/socket.js';
import type { KeepAliveOptions } from './keepAlive.js';
import { keepAliveDefaults, KeepAliveSweeper } from './keepAlive.js';

export { keepAliveDefaults } from './keepAlive.js';
export type { KeepAliveOptions } from './keepAlive.js';

/** What `createContext` gets with `ws`: the upgrade request, the socket and `info`, as in stock tRPC. */
export type CreateWSSContextFnOptions = CreateContextOptions<IncomingMessage, WebSocket>;

/** The options of {@link getWSConnectionHandler}: every stock option plus ours. */
export interface WSConnectionHandlerOptions<TRouter extends AnyRouter> extends CoreHandlerOptions<TRouter, IncomingMessage, WebSocket> {
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
export interface WSSHandlerOptions<TRouter extends AnyRouter> extends WSConnectionHandlerOptions<TRouter> {
  /** The `ws` server to serve the router on. */
  wss: WebSocketServer;
  /**
   * Only connections whose URL path starts with this are served; others are left alone.
   * @default every connection
   */
  prefix?: string;
}

/** What both entry points return. */
export interface WSHandlerControls {
  /** Asks every connected client to reconnect (tRPC's `reconnect` notification), e.g. before a deploy. */
  broadcastReconnectNotification(): void;
  /** Closes every connection with 1001 (going away), stops keep-alive, and serves no new ones. */
  close(): void;
}

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;
const OPEN = 1; // WebSocket.OPEN, without importing ws at run time

/** The part of `ws`'s private `_socket` (a `net.Socket`) used to coalesce writes. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

function uncork(socket: WsServerSocket): void {
  socket.corked?.uncork();
  socket.corked = null;
}

class WsServerSocket implements ServerSocket {
  /**
   * The TCP socket while it is corked. The first frame sent in a tick corks it and a
   * `process.nextTick` uncorks it, after the promise jobs of that tick have run: every frame
   * a burst of events produces for this client then leaves in one `writev` instead of one
   * system call per frame (which is where most of a fan-out's time goes).
   */
  corked: Corkable | null = null;
  constructor(private readonly ws: WebSocket) {}
  get isOpen(): boolean {
    return this.ws.readyState === OPEN;
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  send(data: string | Uint8Array, text: boolean): void {
    if (this.corked === null) {
      const raw = (this.ws as unknown as { _socket?: Partial<Corkable> | null })._socket;
      if (raw && typeof raw.cork === 'function' && typeof raw.uncork === 'function') {
        raw.cork();
        this.corked = raw as Corkable;
        process.nextTick(uncork, this);
      }
    }
    this.ws.send(data, text ? TEXT : BINARY);
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function parseUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

function serve<TRouter extends AnyRouter>(
  core: CoreHandler<TRouter, IncomingMessage, WebSocket>,
  sweeper: KeepAliveSweeper | null,
  ws: WebSocket,
  req: IncomingMessage,
): void {
  const url = parseUrl(req);
  const connection = core.connect(new WsServerSocket(ws), {
    req,
    res: ws,
    url,
    expectsConnectionParams: url?.searchParams.get(CONNECTION_PARAMS_FLAG) === '1',
    speaksLanyard: url?.searchParams.get(LANYARD_FLAG) === '1',
  });
  const keepAlive = sweeper?.track(
    () => ws.readyState === OPEN && ws.send('PING'),
    () => ws.terminate(),
  );
  ws.on('message', (data, isBinary) => {
    if (keepAlive) keepAlive.active = true;
    const bytes = toBuffer(data);
    connection.receive(isBinary ? bytes : bytes.toString('utf8'), bytes.byteLength);
  });
  // An unhandled 'error' would crash the process (e.g. "RSV2 and RSV3 must be clear").
  ws.on('error', (cause) => {
    connection.errors.report(cause, 'unknown', undefined, undefined);
  });
  ws.once('close', () => {
    if (keepAlive) sweeper?.untrack(keepAlive);
    connection.closed();
  });
}

function controls<TRouter extends AnyRouter>(core: CoreHandler<TRouter, IncomingMessage, WebSocket>, sweeper: KeepAliveSweeper | null, onClose: () => void): WSHandlerControls {
  return {
    broadcastReconnectNotification: () => core.broadcastReconnectNotification(),
    close: () => {
      onClose();
      sweeper?.stop();
      core.closeAll();
    },
  };
}

/**
 * Returns a `ws` connection listener that serves a router, for your own `connection` handling.
 * The returned function also carries {@link WSHandlerControls}.
 */
export function getWSConnectionHandler<TRouter extends AnyRouter>(
  opts: WSConnectionHandlerOptions<TRouter>,
): ((ws: WebSocket, req: IncomingMessage) => void) & WSHandlerControls {
  const core = createCoreHandler<TRouter, IncomingMessage, WebSocket>(opts);
  const keepAlive = { ...keepAliveDefaults, ...opts.keepAlive };
  const sweeper = keepAlive.enabled ? new KeepAliveSweeper(keepAlive.pingMs, keepAlive.pongWaitMs) : null;
  let closed = false;
  const onConnection = (ws: WebSocket, req: IncomingMessage) => {
    if (closed) {
      ws.close(1001, 'server shutting down');
      return;
    }
    serve(core, sweeper, ws, req);
  };
  return Object.assign(onConnection, controls(core, sweeper, () => (closed = true)));
}

/**
 * Serves a router on a `ws` server: the drop-in replacement for stock tRPC's
 * `applyWSSHandler`, with the same options and return value plus `close()`.
 */
export function applyWSSHandler<TRouter extends AnyRouter>(opts: WSSHandlerOptions<TRouter>): WSHandlerControls {
  const onConnection = getWSConnectionHandler(opts);
  const listener = (ws: WebSocket, req: IncomingMessage) => {
    if (opts.prefix && !req.url?.startsWith(opts.prefix)) return;
    onConnection(ws, req);
  };
  opts.wss.on('connection', listener);
  return {
    broadcastReconnectNotification: onConnection.broadcastReconnectNotification,
    close: () => {
      opts.wss.off('connection', listener);
      onConnection.close();
    },
  };
}
