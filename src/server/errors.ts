import type { AnyRouter, inferRouterContext } from '@trpc/server';
import { getErrorShape, getTRPCErrorFromUnknown, TRPCError } from '@trpc/server';
import type { ErrorShape } from '../protocol/messages.js';
import type { ErrorInfo } from './options.js';

type CallType = ErrorInfo<AnyRouter, unknown>['type'];

/** What a client gets when its error cannot be formatted: nothing about the error itself. */
export const fallbackErrorShape: ErrorShape = {
  code: -32603,
  message: 'Internal server error',
  data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 },
};

/** One error as the core sees it: the `TRPCError` and the call it belongs to. */
export interface CallError {
  error: TRPCError;
  type: CallType;
  path: string | undefined;
  input: unknown;
}

/**
 * Reports errors to `onError` and shapes them with the router's `errorFormatter` and
 * transformer, for one connection. Neither a throwing `onError` nor a throwing
 * `errorFormatter` can crash the server or leave a request unanswered.
 */
export class ErrorReporter<TRouter extends AnyRouter, TReq> {
  ctx: inferRouterContext<TRouter> | undefined = undefined;

  constructor(
    private readonly router: TRouter,
    private readonly req: TReq,
    private readonly onError: ((info: ErrorInfo<TRouter, TReq>) => void) | undefined,
  ) {}

  /**
   * Reports `cause` (turned into a `TRPCError`) and returns the shape to send. `transform:
   * false` is for our extension frames, which clients read without the router's transformer.
   */
  report(cause: unknown, type: CallType, path: string | undefined, input: unknown, transform = true): ErrorShape {
    const error = getTRPCErrorFromUnknown(cause);
    this.notify({ error, type, path, input });
    return this.shape({ error, type, path, input }, transform);
  }

  /** {@link report}, with `data.lanyardReason` added after the router's `errorFormatter` (see {@link shapeWithReason}). */
  reportWithReason(cause: unknown, type: CallType, path: string | undefined, input: unknown, lanyardReason: string): ErrorShape {
    const error = getTRPCErrorFromUnknown(cause);
    this.notify({ error, type, path, input });
    return this.shapeWithReason({ error, type, path, input }, lanyardReason);
  }

  /** Calls `onError`, swallowing (and logging) its own failure. */
  notify(call: CallError): void {
    if (!this.onError) return;
    try {
      const result: unknown = this.onError({ ...call, ctx: this.ctx, req: this.req });
      if (result instanceof Promise) result.catch(logOnErrorFailure);
    } catch (cause) {
      logOnErrorFailure(cause);
    }
  }

  /**
   * The shape of an error the server sends on purpose (not a failure: `onError` is not told),
   * with `data.lanyardReason` added after the router's `errorFormatter`, so it is always there,
   * then transformed.
   */
  shapeWithReason(call: CallError, lanyardReason: string): ErrorShape {
    const shape = withReason(this.shape(call, false), lanyardReason);
    try {
      return this.router._def._config.transformer.output.serialize(shape) as ErrorShape;
    } catch (cause) {
      logOnErrorFailure(cause);
      return withReason(fallbackErrorShape, lanyardReason);
    }
  }

  /** The error shape the client gets (transformed unless told not to); the fallback when `errorFormatter` throws. */
  shape(call: CallError, transform = true): ErrorShape {
    const config = this.router._def._config;
    try {
      const shape = getErrorShape({ config, ctx: this.ctx, ...call }) as ErrorShape;
      return transform ? (config.transformer.output.serialize(shape) as ErrorShape) : shape;
    } catch (cause) {
      logOnErrorFailure(cause);
      return fallbackErrorShape;
    }
  }
}

/** `shape` with `lanyardReason` in its `data` (made an object when the formatter left none). */
function withReason(shape: ErrorShape, lanyardReason: string): ErrorShape {
  const data = typeof shape.data === 'object' && shape.data !== null ? shape.data : {};
  return { ...shape, data: { ...data, lanyardReason } };
}

function logOnErrorFailure(cause: unknown): void {
  console.error('[trpc-lanyard] error while reporting an error:', cause);
}

/**
 * A `TRPCError` for a frame or call the protocol rejects: `message` is what stock tRPC says
 * (`ProtocolErrorMessage`), `detail` (which field, for `onError`) becomes its `cause`.
 */
export function protocolError(message: string, detail?: unknown): TRPCError {
  return new TRPCError({ code: 'PARSE_ERROR', message, cause: detail });
}

/** Whether `cause` is (or wraps) the `AbortError` a cancelled procedure ends with. */
export function isAbortError(cause: unknown): boolean {
  for (let current = cause, depth = 0; current && depth < 4; depth++) {
    if (current instanceof Error && current.name === 'AbortError') return true;
    current = current instanceof Error ? current.cause : undefined;
  }
  return false;
}
