import type { AnyRouter } from '@trpc/server';
import { callTRPCProcedure, experimental_lazy, initTRPC, TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { CallAbort, callProcedure } from '../../src/server/procedureCall.js';

/**
 * Our procedure caller must be indistinguishable from tRPC's `callTRPCProcedure` (for the
 * installed @trpc/server): same options at every middleware level, same results, same errors.
 * Each case runs the same procedure through both and compares what the middlewares and the
 * resolver saw, and how the call ended.
 */

interface Seen {
  level: string;
  keys: string[];
  path: unknown;
  type: unknown;
  batchIndex: unknown;
  ctx: unknown;
  input: unknown;
  rawInput: unknown;
  meta: unknown;
  signalIsAbortSignal: boolean;
  routerIsRouter: boolean;
}

type Outcome = { ok: true; data: unknown } | { ok: false; name: string; code: unknown; message: string; causeName: unknown };

const t = initTRPC.context<{ user: string; extra?: number }>().meta<{ tag: string }>().create();

function buildRouter(seen: Seen[]) {
  const record = (level: string) =>
    t.middleware(async (opts) => {
      seen.push(await observe(level, opts as unknown as Record<string, unknown>));
      return opts.next();
    });
  const observe = async (level: string, opts: Record<string, unknown>): Promise<Seen> => ({
    level,
    keys: Object.keys(opts),
    path: opts['path'],
    type: opts['type'],
    batchIndex: opts['batchIndex'],
    ctx: opts['ctx'],
    input: opts['input'],
    rawInput: await (opts['getRawInput'] as () => Promise<unknown>)(),
    meta: opts['meta'],
    signalIsAbortSignal: opts['signal'] instanceof AbortSignal,
    routerIsRouter: typeof opts['router'] === 'object' && opts['router'] !== null && '_def' in opts['router'],
  });
  const withCtx = t.middleware(({ next }) => next({ ctx: { extra: 7 } }));
  const withInput = t.middleware(({ next }) => next({ input: { replaced: true } }));
  const withRawInput = t.middleware(({ next }) => next({ getRawInput: () => Promise.resolve({ n: 99 }) }));
  const throwsPlain = t.middleware(() => {
    throw new Error('plain failure');
  });
  const returnsNothing = t.middleware((() => undefined) as never);
  const replacesSignal = t.middleware((opts) => {
    const replacement = new AbortController();
    replacement.abort('replaced');
    (opts as unknown as { signal: AbortSignal }).signal = replacement.signal;
    return opts.next();
  });
  const base = t.procedure.use(record('first'));
  const sub = t.router({
    echo: base
      .meta({ tag: 'echo' })
      .input((value: unknown) => value as { n: number })
      .use(record('after-input'))
      .query((opts) => ({ input: opts.input, ctx: opts.ctx })),
    ctxMerge: base.use(withCtx).use(record('after-ctx')).query(({ ctx }) => ctx),
    inputOverride: base.use(withInput).use(record('after-input-override')).mutation(({ input }) => input),
    rawOverride: base
      .use(withRawInput)
      .input((value: unknown) => value)
      .use(record('after-raw'))
      .query(({ input }) => input),
    objectInputs: base
      .input((value: unknown) => ({ a: (value as { a: number }).a }))
      .input((value: unknown) => ({ b: (value as { b: number }).b }))
      .query(({ input }) => input),
    badInput: base
      .input((value: unknown) => {
        if (typeof value !== 'number') throw new Error('expected a number');
        return value;
      })
      .query(({ input }) => input),
    throwsTRPC: base.query(() => {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'no' });
    }),
    throwsPlain: base.use(throwsPlain).query(() => 'unreachable'),
    returnsNothing: base.use(returnsNothing).query(() => 'unreachable'),
    resolverOptions: base.query((opts) => Object.keys(opts)),
    signalAssigned: base.use(replacesSignal).query(({ signal }) => signal?.reason),
    signal: base.query(({ signal }) => signal instanceof AbortSignal && !signal.aborted),
    feed: base.subscription(async function* () {
      yield 1;
    }),
  });
  return t.router({
    sub,
    lazyPart: experimental_lazy(() => Promise.resolve(t.router({ hello: base.query(() => 'from lazy') }))),
    // A procedure with a caller override is typed as a plain function, but routers take it at run time.
    wrapped: t.procedure
      .experimental_caller(async ({ invoke, _def }) => ({
        wrappedBy: 'caller',
        inner: await invoke({ ctx: { user: 'caller' }, getRawInput: () => Promise.resolve(undefined), path: 'wrapped', type: _def.type, signal: undefined, batchIndex: 0 }),
      }))
      .query(() => 'inner') as never,
  });
}

async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, data: await call() };
  } catch (error) {
    const e = error as { name?: string; code?: unknown; message?: string; cause?: { name?: string } };
    return { ok: false, name: String(e.name), code: e.code, message: String(e.message), causeName: e.cause?.name };
  }
}

/** How our caller gets the signal: made on first read (queries, mutations) or given (subscriptions). */
type SignalKind = 'lazy' | 'given';

async function both(path: string, type: 'query' | 'mutation' | 'subscription', input: unknown, batchIndex = 0, signalKind: SignalKind = 'lazy') {
  const results = [];
  for (const caller of ['stock', 'ours'] as const) {
    const seen: Seen[] = [];
    const router: AnyRouter = buildRouter(seen);
    const ctx = { user: 'ada' };
    const result = await outcome(() =>
      caller === 'stock'
        ? callTRPCProcedure({ router, path, getRawInput: () => Promise.resolve(input), ctx, type, signal: new AbortController().signal, batchIndex })
        : callProcedure({ router, path, type, ctx, input, batchIndex, signal: signalKind === 'lazy' ? new CallAbort() : new AbortController().signal }),
    );
    results.push({ result: type === 'subscription' && result.ok ? 'stream' : result, seen });
  }
  return { stock: results[0]!, ours: results[1]! };
}

describe('our procedure caller, against callTRPCProcedure', () => {
  const cases: Array<[string, string, 'query' | 'mutation' | 'subscription', unknown]> = [
    ['passes input, meta, path, type and batch index to every level', 'sub.echo', 'query', { n: 1 }],
    ['merges the context a middleware passes to next()', 'sub.ctxMerge', 'query', undefined],
    ['passes the input a middleware gives next()', 'sub.inputOverride', 'mutation', { n: 2 }],
    ['passes the raw input a middleware gives next()', 'sub.rawOverride', 'query', { n: 3 }],
    ['merges object inputs of stacked parsers', 'sub.objectInputs', 'query', { a: 1, b: 2, c: 3 }],
    ['wraps a parser failure in BAD_REQUEST', 'sub.badInput', 'query', 'not a number'],
    ['rethrows a TRPCError from the resolver', 'sub.throwsTRPC', 'query', undefined],
    ['wraps a plain error from a middleware', 'sub.throwsPlain', 'query', undefined],
    ['fails a chain whose middleware returns nothing', 'sub.returnsNothing', 'query', undefined],
    ['gives the resolver the same option keys, in the same order', 'sub.resolverOptions', 'query', undefined],
    ['lets a middleware assign opts.signal, as a plain property would', 'sub.signalAssigned', 'query', undefined],
    ['gives every level an AbortSignal', 'sub.signal', 'query', undefined],
    ['returns a subscription stream', 'sub.feed', 'subscription', undefined],
    ['refuses a procedure of another type with NOT_FOUND', 'sub.echo', 'mutation', { n: 1 }],
    ['refuses a missing path with NOT_FOUND', 'sub.nothing', 'query', undefined],
    ['refuses a path that names an object prototype key', 'constructor', 'query', undefined],
    ['loads a lazy router first', 'lazyPart.hello', 'query', undefined],
    ['runs an experimental_caller wrapper', 'wrapped', 'query', undefined],
  ];
  for (const signalKind of ['lazy', 'given'] as const) {
    for (const [name, path, type, input] of cases) {
      it(`${name} (signal ${signalKind})`, async () => {
        const { stock, ours } = await both(path, type, input, 5, signalKind);
        expect(ours.result).toEqual(stock.result);
        expect(ours.seen).toEqual(stock.seen);
      });
    }
  }

  it('sees the cases do differ from each other (the comparison is not vacuous)', async () => {
    const echo = await both('sub.echo', 'query', { n: 1 });
    expect(echo.ours.result).toEqual({ ok: true, data: { input: { n: 1 }, ctx: { user: 'ada' } } });
    expect(echo.ours.seen.map((s) => s.level)).toEqual(['first', 'after-input']);
    expect(echo.ours.seen[1]).toMatchObject({ input: { n: 1 }, meta: { tag: 'echo' }, path: 'sub.echo', type: 'query', signalIsAbortSignal: true, routerIsRouter: true });
    const merged = await both('sub.ctxMerge', 'query', undefined);
    expect(merged.ours.result).toEqual({ ok: true, data: { user: 'ada', extra: 7 } });
    const failed = await both('sub.throwsPlain', 'query', undefined);
    expect(failed.ours.result).toMatchObject({ ok: false, code: 'INTERNAL_SERVER_ERROR', message: 'plain failure' });
  });
});

describe('a call signal made on first read', () => {
  it('is aborted from the start when the call was aborted before anything read it', () => {
    const abort = new CallAbort();
    abort.abort();
    expect(abort.signal().aborted).toBe(true);
  });

  it('is one signal per call, aborted by abort() after it was read', () => {
    const abort = new CallAbort();
    const signal = abort.signal();
    expect(abort.signal()).toBe(signal);
    expect(signal.aborted).toBe(false);
    abort.abort();
    expect(signal.aborted).toBe(true);
  });

  it('is made only when a procedure reads it', async () => {
    const router = t.router({ plain: t.procedure.query(() => 'ok'), reads: t.procedure.query(({ signal }) => signal?.aborted) });
    const made: string[] = [];
    class Counting extends CallAbort {
      override signal(): AbortSignal {
        made.push('signal');
        return super.signal();
      }
    }
    await callProcedure({ router, path: 'plain', type: 'query', ctx: {}, input: undefined, batchIndex: 0, signal: new Counting() });
    expect(made).toEqual([]);
    await callProcedure({ router, path: 'reads', type: 'query', ctx: {}, input: undefined, batchIndex: 0, signal: new Counting() });
    expect(made).toEqual(['signal']);
  });
});
