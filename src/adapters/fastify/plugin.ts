import type { AnyRouter } from '@trpc/server';
import { fastifyTRPCPlugin as stockFastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import type { FastifyHandlerOptions, FastifyTRPCPluginOptions as StockPluginOptions } from '@trpc/server/adapters/fastify';
import type {} from '@fastify/websocket'; // its types: `websocket: true` routes, `fastify.websocketServer`
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { CloseCode } from '../../protocol/closeCodes.js';
import type { HandlerControls } from '../../server/adapterSupport.js';
import { reportOriginPredicateError } from '../../server/adapterSupport.js';
import type { RouterSession, SessionBase } from '../../server/auth/types.js';
import type { CreateContextOptions } from '../../server/options.js';
import { createSocketHandler } from '../ws/serveSocket.js';
import type { WsServingOptions } from '../ws/serveSocket.js';
import { addHandler, ensureRegistry } from './handlers.js';
import type { FastifyTRPCOptions, FastifyTRPCPluginOptions } from './options.js';
import { UpgradeGate } from './upgradeGate.js';

type Done = (err?: Error) => void;

/** The HTTP side, handed to stock's plugin: `createContext` gets `session: null` besides what stock passes. */
function httpOptions<TRouter extends AnyRouter, TSession extends SessionBase>(
  trpcOptions: FastifyTRPCOptions<TRouter, TSession>,
): StockPluginOptions<TRouter>['trpcOptions'] {
  const { createContext } = trpcOptions;
  const http: Pick<FastifyHandlerOptions<TRouter, FastifyRequest, FastifyReply>, 'createContext'> = {
    createContext: createContext ? (opts) => createContext.call(trpcOptions, { ...opts, session: null }) : undefined,
  };
  // Ours are a superset of stock's options (the same names mean the same); stock's handler
  // reads its own and ignores the rest, as it does with the ones of `applyWSSHandler`.
  return { ...trpcOptions, ...http } as unknown as StockPluginOptions<TRouter>['trpcOptions'];
}

/** The WebSocket side's options: `createContext` as the core calls it (`res` is the socket). */
function socketOptions<TRouter extends AnyRouter, TSession extends SessionBase>(
  trpcOptions: FastifyTRPCOptions<TRouter, TSession>,
): WsServingOptions<TRouter, FastifyRequest, TSession> {
  const { createContext } = trpcOptions;
  return {
    ...trpcOptions,
    createContext: createContext
      ? (opts: CreateContextOptions<FastifyRequest, WebSocket, TSession>) => createContext.call(trpcOptions, opts)
      : undefined,
  };
}

/**
 * `@fastify/websocket`'s own `preClose` hook closes every socket of its server without a code
 * (the client would see 1005) before any hook of a plugin registered after it can run. On our
 * sockets a close without a code is what `handler.close()` sends: 1001, going away. (Our handler
 * always closes with a code; the socket stays in `fastify.websocketServer.clients`.)
 */
function closeWithoutCodeAsGoingAway(socket: WebSocket): void {
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string | Buffer): void => {
    if (code === undefined) close(CloseCode.GoingAway, 'server shutting down');
    else close(code, reason);
  };
}

/** The encapsulated part, registered with the caller's `prefix`: routes, hooks and parsers stay in it. */
function servePlugin<TRouter extends AnyRouter, TSession extends SessionBase>(
  fastify: FastifyInstance,
  opts: FastifyTRPCPluginOptions<TRouter, TSession>,
  done: Done,
): void {
  // HTTP: stock's own plugin, in a context of its own (it replaces the JSON and multipart parsers there).
  void fastify.register(stockFastifyTRPCPlugin, { trpcOptions: httpOptions(opts.trpcOptions) });

  const trpcOptions = socketOptions(opts.trpcOptions);
  const onConnection = createSocketHandler<TRouter, FastifyRequest, TSession>(trpcOptions, (req) => req.raw);
  const routePath = fastify.prefix || '/';
  const gate = new UpgradeGate({
    path: routePath,
    allowedOrigins: trpcOptions.allowedOrigins,
    credentials: trpcOptions.credentials,
    onPredicateError: (cause, req) => reportOriginPredicateError(trpcOptions, cause, req),
  });
  addHandler(fastify, fastify.prefix, onConnection as unknown as HandlerControls<SessionBase>); // throws for a prefix taken
  const uninstall = gate.install(fastify);

  fastify.route({
    method: 'GET',
    // Exactly the prefix, as stock's route; `/` without one (stock's '' is refused by Fastify there).
    url: fastify.prefix ? '' : '/',
    websocket: true,
    onRequest: gate.onRequest,
    handler: (socket: WebSocket, req: FastifyRequest) => {
      closeWithoutCodeAsGoingAway(socket);
      onConnection(socket, req);
    },
  });
  // After `@fastify/websocket`'s (see `closeWithoutCodeAsGoingAway`): stops the handler's timers,
  // leaves the cluster, closes what is left with 1001 and refuses later sockets.
  fastify.addHook('preClose', (hookDone) => {
    onConnection.close();
    uninstall();
    hookDone();
  });
  done();
}

/**
 * A Fastify plugin that serves a router over HTTP (tRPC's own Fastify handler) and, with
 * `useWSS`, over WebSockets with trpc-lanyard's handler: the drop-in replacement for stock
 * tRPC's `fastifyTRPCPlugin`, with the same options, plus trpc-lanyard's in `trpcOptions`.
 *
 * Needs `@fastify/websocket` registered first for `useWSS`. The handler's controls are on
 * `fastify.trpcLanyard.get(prefix)`; `fastify.close()` closes its sockets with 1001.
 *
 * @example
 * ```ts
 * await app.register(websocket);
 * await app.register(fastifyTRPCPlugin, {
 *   prefix: '/trpc',
 *   useWSS: true,
 *   trpcOptions: { router: appRouter, createContext, authenticate },
 * });
 * ```
 */
export function fastifyTRPCPlugin<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>>(
  fastify: FastifyInstance,
  opts: FastifyTRPCPluginOptions<TRouter, TSession>,
  done: Done,
): void {
  if (!opts.useWSS) {
    // HTTP only: stock's plugin as it is, encapsulated and prefixed by Fastify as usual.
    void fastify.register(stockFastifyTRPCPlugin, { ...opts, trpcOptions: httpOptions(opts.trpcOptions) });
    done();
    return;
  }
  if (!fastify.hasDecorator('websocketServer')) {
    done(new Error('trpc-lanyard/fastify: useWSS needs @fastify/websocket registered before this plugin'));
    return;
  }
  // This function runs in the caller's context (skip-override, below) only to put the handlers'
  // registry there, where the app can reach it; everything else is registered encapsulated.
  ensureRegistry(fastify);
  void fastify.register(servePlugin<TRouter, TSession>, opts);
  done();
}

// The `fastify-plugin` convention, without the dependency: Fastify does not open a new context
// for this function (see `ensureRegistry`); `servePlugin` gets one, with the caller's `prefix`.
Object.assign(fastifyTRPCPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'trpc-lanyard/fastify',
});
