import type { AnyRouter, inferRouterContext, TRPCError } from '@trpc/server';
import type { TRPCRequestInfo } from '@trpc/server/http';

/** Encodes and decodes frames other than `PING`/`PONG`; the same shape as tRPC's `experimental_encoder`. */
export interface Encoder {
  encode(data: unknown): string | Uint8Array;
  decode(data: string | Uint8Array): unknown;
}

/** What `createContext` receives: the same shape as stock tRPC's WebSocket adapter. */
export interface CreateContextOptions<TReq, TRes> {
  /** The HTTP upgrade request. */
  req: TReq;
  /** The socket (for `ws`, the `WebSocket`). */
  res: TRes;
  /** What tRPC knows about the connection; `connectionParams` is filled from the first frame. */
  info: TRPCRequestInfo;
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
 */
export interface CoreHandlerOptions<TRouter extends AnyRouter, TReq, TRes> {
  /** The router to serve. */
  router: TRouter;
  /**
   * Creates the context of a connection, once, after its `connectionParams` (if any) arrived.
   * Throwing `TRPCError` `UNAUTHORIZED` / `FORBIDDEN` closes the socket with 4401 / 4403,
   * anything else with 4500, after an `{ id: null }` error frame that says why.
   */
  createContext?: (opts: CreateContextOptions<TReq, TRes>) => inferRouterContext<TRouter> | Promise<inferRouterContext<TRouter>>;
  /** Called with every error, as in stock tRPC. A throw or rejection in it is swallowed, never a crash. */
  onError?: (opts: ErrorInfo<TRouter, TReq>) => void;
  /**
   * The most calls one batch frame may carry; every call of a larger batch is answered with
   * `BAD_REQUEST`. Stock tRPC's option of the same name.
   * @default unlimited
   */
  maxBatchSize?: number;
  /**
   * How long a client that announced `connectionParams=1` has to send its `connectionParams`
   * frame, in milliseconds. Then the socket closes with `CloseCode.AuthTimeout` (4408).
   * Stock tRPC waits forever.
   * @default 10_000
   */
  authTimeoutMs?: number;
  /**
   * The largest frame accepted, in bytes. A larger one closes the socket with
   * `CloseCode.PayloadTooLarge` (4413). Set `wss`'s own `maxPayload` at least this high
   * (its default, 100 MiB, is).
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
  maxQueuedCallsBeforeReady: 256,
} as const;
