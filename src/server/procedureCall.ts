import type { AnyRouter } from '@trpc/server';
import { callTRPCProcedure, getTRPCErrorFromUnknown, TRPCError } from '@trpc/server';

/** What a procedure call needs. */
export interface ProcedureCallOptions {
  readonly router: AnyRouter;
  readonly path: string;
  readonly type: 'query' | 'mutation' | 'subscription';
  readonly ctx: unknown;
  /** The input after the transformer (and with `lastEventId` merged in). */
  readonly input: unknown;
  readonly batchIndex: number;
  /**
   * The call's signal: the signal itself when it exists anyway (a subscription's), or where to
   * get it when first read (a query's or mutation's, see {@link CallAbort}).
   */
  readonly signal: AbortSignal | SignalSource;
}

/** Where a call's `AbortSignal` comes from. */
export interface SignalSource {
  signal(): AbortSignal;
}

/**
 * A call's `AbortSignal`, made when something first reads it: most procedures never do, and an
 * `AbortController` costs about 4 µs. {@link abort} before that leaves the signal aborted from
 * the start. Each call has its own, as in stock tRPC, so listeners a procedure adds go with it.
 */
export class CallAbort implements SignalSource {
  private controller: AbortController | null = null;
  private aborted = false;

  signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }
}

/** One middleware of a built procedure, as tRPC stores it in `_def.middlewares`. */
type Middleware = (opts: Record<string, unknown>) => Promise<unknown>;

/** The part of a built procedure's `_def` this file relies on, checked before each use. */
interface ProcedureDef {
  readonly type: unknown;
  readonly meta: unknown;
  readonly middlewares: readonly Middleware[];
  readonly experimental_caller?: unknown;
}

/** A middleware's result, as tRPC's own calls make it. */
interface MiddlewareResult {
  readonly ok: boolean;
  readonly data?: unknown;
  readonly error?: unknown;
}

/** The marker tRPC puts on a middleware result (a plain string at run time). */
const MIDDLEWARE_MARKER = 'middlewareMarker';

/** Stock's message when the middleware chain returns nothing. */
const NO_RESULT = 'No result from middlewares - did you forget to `return next()`?';

/**
 * The procedure at `path` when it can be called here: defined eagerly, of the right type, with
 * the middleware list tRPC v11 builds, and no `experimental_caller` (whose wrapper must run).
 * Anything else (a lazy router not loaded yet, a wrong type, another shape) goes through
 * `callTRPCProcedure`, which loads, refuses or calls it as stock does.
 */
function directDef(router: AnyRouter, path: string, type: string): ProcedureDef | null {
  const procedures = router._def.procedures as Record<string, unknown>;
  if (!Object.hasOwn(procedures, path)) return null;
  const procedure = procedures[path];
  if (typeof procedure !== 'function') return null;
  const def = (procedure as { _def?: Partial<ProcedureDef> })._def;
  if (def === undefined || def.type !== type || def.experimental_caller) return null;
  return Array.isArray(def.middlewares) ? (def as ProcedureDef) : null;
}

/**
 * Calls a procedure as `callTRPCProcedure` would, with the same options at every middleware
 * level (`router`, `path`, `getRawInput`, `ctx`, `type`, `signal`, `batchIndex`, `meta`,
 * `input`, `next`), the same context merging, input passing and error wrapping, and the same
 * result. It differs in cost only: tRPC's caller copies every level's options with a
 * transpiled object-spread helper (about 13 µs of a 36 µs call, measured on the bench's `echo`
 * query), and makes each call's `AbortSignal` up front (about 4 µs); here each level's options
 * are one object literal, and the signal is made only when a middleware or resolver reads it.
 * `test/server/procedureCall.test.ts` checks the two callers against each other.
 */
export function callProcedure(opts: ProcedureCallOptions): Promise<unknown> {
  const def = directDef(opts.router, opts.path, opts.type);
  if (def === null) {
    const { input } = opts;
    return callTRPCProcedure({
      router: opts.router,
      path: opts.path,
      getRawInput: () => Promise.resolve(input),
      ctx: opts.ctx,
      type: opts.type,
      signal: signalOf(opts.signal),
      batchIndex: opts.batchIndex,
    });
  }
  return new ProcedureRun(opts, def).result(opts.ctx, opts.input);
}

/** The signal of `source`, made now if it is made on first read. */
function signalOf(source: AbortSignal | SignalSource): AbortSignal {
  return source instanceof AbortSignal ? source : source.signal();
}

/**
 * One call down one procedure's middleware chain. It keeps only what the levels need: a
 * subscription's generator holds its options (and through `next`, this) for as long as it runs.
 */
class ProcedureRun {
  private readonly router: AnyRouter;
  private readonly path: string;
  private readonly type: string;
  private readonly batchIndex: number;
  /** The signal when it already exists; otherwise null, and {@link signals} makes it when read. */
  private readonly signal: AbortSignal | null;
  private readonly signals: SignalSource | null;

  constructor(
    opts: ProcedureCallOptions,
    private readonly def: ProcedureDef,
  ) {
    this.router = opts.router;
    this.path = opts.path;
    this.type = opts.type;
    this.batchIndex = opts.batchIndex;
    const eager = opts.signal instanceof AbortSignal;
    this.signal = eager ? (opts.signal as AbortSignal) : null;
    this.signals = eager ? null : (opts.signal as SignalSource);
  }

  /** Runs the chain from its first level, where the raw input is the call's. */
  async result(ctx: unknown, rawInput: unknown): Promise<unknown> {
    const result = (await this.level(0, ctx, undefined, () => Promise.resolve(rawInput))) as MiddlewareResult | undefined;
    if (!result) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: NO_RESULT });
    if (!result.ok) throw result.error;
    return result.data;
  }

  /** Runs middleware `index` with the options of its level; a throw becomes a failed result, as in tRPC. */
  private async level(index: number, ctx: unknown, input: unknown, getRawInput: () => Promise<unknown>): Promise<unknown> {
    try {
      // Past the chain's end (a resolver calling next()) this throws a TypeError, caught as in tRPC.
      const middleware = this.def.middlewares[index] as Middleware;
      return await middleware(this.options(index, ctx, input, getRawInput));
    } catch (cause) {
      return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: MIDDLEWARE_MARKER };
    }
  }

  /**
   * One level's options, keys in tRPC's order (its first level gets `meta` before `input`; later
   * levels inherit `input` from the level before). `signal` is a plain property when the signal
   * exists; otherwise an own accessor that makes it when read, and that assigning replaces with a
   * plain property, as with tRPC's options. Four literals rather than one built up property by
   * property: each keeps one fast shape.
   */
  private options(index: number, ctx: unknown, input: unknown, getRawInput: () => Promise<unknown>): Record<string, unknown> {
    const { router, path, type, batchIndex, signal, signals } = this;
    const { meta } = this.def;
    const next = (nextOpts?: { ctx?: unknown; input?: unknown; getRawInput?: () => Promise<unknown> }) =>
      this.level(
        index + 1,
        nextOpts?.ctx ? { ...(ctx as object), ...(nextOpts.ctx as object) } : ctx,
        nextOpts && 'input' in nextOpts ? nextOpts.input : input,
        nextOpts?.getRawInput ?? getRawInput,
      );
    if (signals === null) {
      return index === 0
        ? { router, path, getRawInput, ctx, type, signal, batchIndex, meta, input, next }
        : { router, path, getRawInput, ctx, type, signal, batchIndex, input, meta, next };
    }
    if (index === 0) {
      return {
        router,
        path,
        getRawInput,
        ctx,
        type,
        get signal() {
          return signals.signal();
        },
        set signal(value: unknown) {
          replaceSignal(this, value);
        },
        batchIndex,
        meta,
        input,
        next,
      };
    }
    return {
      router,
      path,
      getRawInput,
      ctx,
      type,
      get signal() {
        return signals.signal();
      },
      set signal(value: unknown) {
        replaceSignal(this, value);
      },
      batchIndex,
      input,
      meta,
      next,
    };
  }
}

/** A middleware assigned `opts.signal`: from then on it is a plain property holding `value`. */
function replaceSignal(options: object, value: unknown): void {
  Object.defineProperty(options, 'signal', { value, writable: true, enumerable: true, configurable: true });
}
