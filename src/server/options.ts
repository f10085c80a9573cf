import type { AnyRouter, inferRouterContext, TRPCError } from '@trpc/server';
import type { TRPCRequestInfo } from '@trpc/server/http';
import type { AllowedOrigins } from './auth/origin.js';
import type { AuthOptions, RouterSession, SessionBase } from './auth/types.js';
import type { ClusterOptions } from './cluster/options.js';

/** Encodes and decodes frames other than `PING`/`PONG`; the same shape as tRPC's `experimental_encoder`. */
export interface Encoder {
  encode(data: unknown): string | Uint8Array;
  decode(data: string | Uint8Array): unknown;
}

/** What `createContext` receives: stock tRPC's shape plus the session. */
export interface CreateContextOptions<TReq, TRes, TSession = SessionBase> {
  /** The HTTP upgrade request. */
  req: TReq;
  /** The socket (for `ws`, the `WebSocket`). */
  res: TRes;
  /** What tRPC knows about the connection; `connectionParams` is filled from the first frame. */
  info: TRPCRequestInfo;
  /**
   * What `authenticate` returned for this connection; null without `authenticate`. After an
   * in-band re-authentication `createContext` runs again with the new session, and calls that
   * arrive from then on get the new context.
   */
  session: TSession | null;
}

/** The details `onError` receives; the same shape as stock tRPC's. */
export interface ErrorInfo<TRouter extends AnyRouter, TReq> {
  error: TRPCError;
  type: 'query' | 'mutation' | 'subscription' | 'unknown';
  path: string | undefined;
  input: unknown;
  ctx: inferRouterContext<TRouter> | undefined;
  req: TReq;
}

/**
 * Options of the transport-agnostic core. The `ws` adapter's options extend these with
 * `wss`, `prefix`, `keepAlive` and `dangerouslyDisablePong`.
 *
 * `TSession` is inferred from what `authenticate` returns when its parameter is annotated (or
 * absent); otherwise it is the router context's `session` field ({@link RouterSession}). Pass
 * it explicitly when neither says.
 */
export interface CoreHandlerOptions<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase = RouterSession<TRouter>>
  extends AuthOptions<TSession, TReq>,
    ClusterOptions<TSession> {
  /** The router to serve. */
  router: TRouter;
  /**
   * Creates the context of a connection, once, after its `connectionParams` (if any) arrived.
   * Throwing `TRPCError` `UNAUTHORIZED` / `FORBIDDEN` closes the socket with 4401 / 4403,
   * anything else with 4500, after an `{ id: null }` error frame that says why.
   */
  createContext?: (
    opts: CreateContextOptions<TReq, TRes, NoInfer<TSession>>,
  ) => inferRouterContext<TRouter> | Promise<inferRouterContext<TRouter>>;
  /**
   * Which browser origins may open a socket: exact origins, or a predicate. A cross-origin
   * upgrade is refused before the socket opens (HTTP 403). Requests without an `Origin` header
   * (non-browser clients) pass a list. A predicate that throws refuses the upgrade (403) and the
   * throw is reported to `onError`; it sees `req.url` with a query-parameter token redacted.
   * @default every origin
   */
  allowedOrigins?: AllowedOrigins<TReq>;
  /** Called with every error, as in stock tRPC. A throw or rejection in it is swallowed, never a crash. */
  onError?: (opts: ErrorInfo<TRouter, TReq>) => void;
  /**
   * The most calls one batch frame may carry; every call of a larger batch is answered with
   * `BAD_REQUEST` and none runs. Stock tRPC's option of the same name (stock's default is
   * unlimited; ours bounds the work one frame can cause, and matches
   * `maxConcurrentCallsPerConnection`, beyond which calls would be refused anyway). Announced in
   * `lanyard.hello`, so a trpc-lanyard client splits its batches to fit. `Infinity` lifts it.
   * @default 1_000
   */
  maxBatchSize?: number;
  /**
   * How long a new connection has to present credentials that `authenticate` accepts (and, with
   * `connectionParams=1`, to send that frame), in milliseconds; also how long a client asked by
   * `requestReauthentication()` has to answer. Then the socket closes with
   * `CloseCode.AuthTimeout` (4408). Stock tRPC waits forever.
   * @default 10_000
   */
  authTimeoutMs?: number;
  /**
   * The largest frame accepted, in bytes. A larger one closes the socket with
   * `CloseCode.PayloadTooLarge` (4413). With `ws` the limit is enforced while the frame arrives
   * (each served socket's receiver refuses it from its header, never buffering it whole); a lower
   * `maxPayload` on the `WebSocketServer` wins. Nothing needs setting on a server you create.
   * @default 1_048_576 (1 MiB)
   */
  maxPayloadBytes?: number;
  /**
   * The most calls that may wait for the context to be created; one more closes the socket with
   * `CloseCode.RateLimited` (4429).
   * @default 256
   */
  maxQueuedCallsBeforeReady?: number;
  /**
   * The most subscriptions one connection may hold at once; one more is answered with
   * `TOO_MANY_REQUESTS` (the socket stays open).
   * @default 1_000
   */
  maxSubscriptionsPerConnection?: number;
  /**
   * The most queries and mutations one connection may have running at once; one more is
   * answered with `TOO_MANY_REQUESTS` (the socket stays open).
   * @default 1_000
   */
  maxConcurrentCallsPerConnection?: number;
  /**
   * The most bytes that may wait in a connection's send buffer (a client that stopped reading);
   * beyond that the socket closes with `CloseCode.SlowConsumer` (4507) instead of buffering
   * without end.
   * @default 16_777_216 (16 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * Encodes and decodes messages, for formats other than JSON. Experimental in tRPC too.
   * @default JSON text frames
   */
  experimental_encoder?: Encoder;
  /**
   * Stops answering clients' `PING`. Meant for tests.
   * @default false
   */
  dangerouslyDisablePong?: boolean;
}

/** The defaults of {@link CoreHandlerOptions}, referenced by their TSDoc. */
export const coreHandlerDefaults = {
  authTimeoutMs: 10_000,
  maxPayloadBytes: 1_048_576,
  maxBatchSize: 1_000,
  maxQueuedCallsBeforeReady: 256,
  maxSubscriptionsPerConnection: 1_000,
  maxConcurrentCallsPerConnection: 1_000,
  maxBufferedBytes: 16_777_216,
} as const;
