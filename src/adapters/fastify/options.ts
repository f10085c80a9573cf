import type { AnyRouter, inferRouterContext } from '@trpc/server';
import type { FastifyHandlerOptions } from '@trpc/server/adapters/fastify';
import type { TRPCRequestInfo } from '@trpc/server/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { RouterSession, SessionBase } from '../../server/auth/types.js';
import type { WsServingOptions } from '../ws/serveSocket.js';

/**
 * What `createContext` gets: stock's `CreateFastifyContextOptions` plus the session, typed as
 * it is at run time.
 *
 * - Over HTTP (tRPC's own Fastify handler): `req` is the `FastifyRequest`, `res` the
 *   `FastifyReply`, `session` null (HTTP requests do not go through `authenticate`).
 * - Over WebSockets: `req` is the `FastifyRequest` of the upgrade (stock passes the raw
 *   `IncomingMessage` there although its type says `FastifyRequest`), `res` the `WebSocket`
 *   (as in stock), `session` what `authenticate` returned (null without `authenticate`).
 *
 * Stock types `res` as `FastifyReply` although WebSocket connections get the socket there; a
 * `createContext` annotated with stock's type therefore does not compile here: annotate it with
 * this one (and check `res` before using it as a reply).
 */
export interface CreateFastifyContextOptions<TSession = SessionBase> {
  /** The request; over WebSockets, the upgrade request (its URL redacted of a query-parameter token). */
  req: FastifyRequest;
  /** The reply over HTTP; the socket over WebSockets. */
  res: FastifyReply | WebSocket;
  /** What tRPC knows about the request; over WebSockets `connectionParams` is filled from the first frame. */
  info: TRPCRequestInfo;
  /**
   * What `authenticate` returned for this connection; null over HTTP and without `authenticate`.
   * After an in-band re-authentication `createContext` runs again with the new session.
   */
  session: TSession | null;
}

/** Options only tRPC's HTTP handler reads (our WebSocket handler accepts and ignores them, as stock's does). */
type HTTPOnlyOption = 'allowBatching' | 'allowMethodOverride' | 'batching';

/**
 * The router and handler options: stock's Fastify options (`router`, `createContext`, `onError`,
 * `responseMeta`, `maxBodySize`, `keepAlive`, …) plus every option of trpc-lanyard's WebSocket
 * handler (`authenticate`, `credentials`, `allowedOrigins`, `broker`, `maxPayloadBytes`, …).
 * The auth options apply to WebSocket connections only; HTTP requests are served by tRPC's own
 * handler, as with stock's plugin.
 */
export interface FastifyTRPCOptions<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>>
  extends Omit<WsServingOptions<TRouter, FastifyRequest, TSession>, 'createContext' | 'maxBatchSize' | HTTPOnlyOption>,
    Pick<FastifyHandlerOptions<TRouter, FastifyRequest, FastifyReply>, 'responseMeta' | 'maxBodySize' | HTTPOnlyOption> {
  /**
   * The most calls one batch may carry. Over WebSockets a larger batch frame has every call
   * answered with `BAD_REQUEST` (default 1_000, announced to trpc-lanyard clients); over HTTP it
   * is tRPC's own option (unlimited unless set).
   * @default 1_000 over WebSockets; unlimited over HTTP
   */
  maxBatchSize?: number;
  /**
   * Creates the context of an HTTP request, and of a WebSocket connection once its
   * `connectionParams` (if any) arrived. Over WebSockets, throwing `TRPCError` `UNAUTHORIZED` /
   * `FORBIDDEN` closes the socket with 4401 / 4403, anything else with 4500.
   */
  createContext?: (opts: CreateFastifyContextOptions<NoInfer<TSession>>) => inferRouterContext<TRouter> | Promise<inferRouterContext<TRouter>>;
}

/** The options of {@link fastifyTRPCPlugin}: stock's `FastifyTRPCPluginOptions`, with our `trpcOptions`. */
export interface FastifyTRPCPluginOptions<TRouter extends AnyRouter, TSession extends SessionBase = RouterSession<TRouter>> {
  /**
   * The path the router is served at, such as `/trpc`: HTTP calls at `${prefix}/:path`, the
   * WebSocket at `${prefix}` itself. Applied by Fastify as the registration's route prefix (so
   * the prefixes of enclosing registrations come first), as with stock's plugin.
   * @default '' (the root)
   */
  prefix?: string;
  /**
   * Serves WebSockets too, with trpc-lanyard's handler. Needs `@fastify/websocket` registered
   * first.
   * @default false
   */
  useWSS?: boolean;
  /** The router and handler options. */
  trpcOptions: FastifyTRPCOptions<TRouter, TSession>;
}
