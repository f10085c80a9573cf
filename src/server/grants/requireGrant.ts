import { TRPCError } from '@trpc/server';
import type { MiddlewareFunction } from '@trpc/server/unstable-core-do-not-import';
import { GRANT_INPUT_KEY } from '../../protocol/grants.js';
import type { GrantTerms, VerifiedGrant } from './carrier.js';
import { grantCarrierOf } from './carrier.js';
import { expireStream } from './expireStream.js';
import { withinDeadline } from '../withinDeadline.js';
import { grantAlreadyExpired, grantRefused, grantRequired } from './grantError.js';

/**
 * What `verify` returns: any object of the app's own (the procedure reads it as `ctx.grant`), with
 * an optional `expiresAt`.
 */
export type GrantBase = object & {
  /** When the grant expires, in milliseconds since the epoch (server clock). Absent or null: never. */
  readonly expiresAt?: number | null;
  readonly then?: never;
};

/** What `verify` receives. */
export interface VerifyGrantOptions<TContext> {
  /** The procedure's context (after the middlewares before `requireGrant`). */
  ctx: TContext;
  /**
   * The input as the client sent it: after the router's transformer, before the procedure's
   * parsers (unvalidated), without `grant`. Check that the token is for *this* input (e.g. its
   * `docId`).
   */
  input: unknown;
  /** The grant token. */
  token: string;
  /** The procedure path, e.g. `'doc.watch'`. */
  path: string;
  /** `'subscription'`, or `'query'` / `'mutation'` when the middleware guards one of those. */
  type: 'query' | 'mutation' | 'subscription';
  /** Aborted when the subscription ends or `verifyTimeoutMs` passes: pass it on to slow look-ups. */
  signal: AbortSignal;
}

/** Options of {@link requireGrant}. */
export interface RequireGrantOptions<TContext, TGrant extends GrantBase> {
  /**
   * Verifies a grant token for this call: returns the grant (with its `expiresAt`), or throws
   * `TRPCError` `UNAUTHORIZED` / `FORBIDDEN` to refuse it (anything else it throws is a failure, not
   * a refusal: at subscribe time the subscription fails with it, on a refresh the client may try
   * again). Runs at subscribe time, on every refresh and every re-run (session change, resume).
   */
  verify: (opts: VerifyGrantOptions<TContext>) => TGrant | Promise<TGrant>;
  /**
   * How long before the grant's `expiresAt` a trpc-lanyard client is asked for a fresh token, in
   * milliseconds, at most half the grant's lifetime. A client that cannot be asked (stock, or on a
   * server without our handler) has its subscription ended then, with `grant-expired`.
   * @default 30_000
   */
  refreshAheadMs?: number;
  /**
   * How long after `expiresAt` a subscription whose grant was not refreshed waits (sending
   * nothing) before it ends with `grant-expired`, in milliseconds.
   * @default 5_000
   */
  graceMs?: number;
  /**
   * How long `verify` may take, in milliseconds; then it is aborted and counts as failed
   * (`TIMEOUT`).
   * @default 10_000
   */
  verifyTimeoutMs?: number;
}

/** The defaults of {@link RequireGrantOptions}, referenced by their TSDoc. */
export const requireGrantDefaults = {
  refreshAheadMs: 30_000,
  graceMs: 5_000,
  verifyTimeoutMs: 10_000,
} as const;

/**
 * A middleware that makes a procedure (usually a subscription) need a **grant**: a token for one
 * resource, with its own expiry, checked by `verify`. Put it before `.input()`:
 *
 * ```ts
 * const docWatch = t.procedure
 *   .use(requireGrant<Context, DocGrant>({ verify: ({ ctx, input, token }) => verifyDocToken(ctx, input, token) }))
 *   .input(z.object({ docId: z.string() }))
 *   .subscription(async function* ({ ctx, input }) { … ctx.grant … });
 * ```
 *
 * The token comes beside the input from a trpc-lanyard client (`params.grant`), or in the input as
 * `grant` from any other client (taken out of the input before the parsers). The verified grant is
 * `ctx.grant`. Under our WebSocket handler the subscription's grant is then refreshed in band
 * before it expires, and held then ended (`grant-expired`) when it is not (PROTOCOL.md § 5.2);
 * elsewhere (stock `applyWSSHandler`, HTTP) the subscription ends `refreshAheadMs` before the
 * grant expires.
 */
export function requireGrant<TContext = unknown, TGrant extends GrantBase = GrantBase>(
  options: RequireGrantOptions<TContext, TGrant>,
): MiddlewareFunction<TContext, unknown, object, { grant: TGrant }, unknown> {
  const refreshAheadMs = options.refreshAheadMs ?? requireGrantDefaults.refreshAheadMs;
  const graceMs = options.graceMs ?? requireGrantDefaults.graceMs;
  const verifyTimeoutMs = options.verifyTimeoutMs ?? requireGrantDefaults.verifyTimeoutMs;
  const middleware = async (opts: MiddlewareOptions<TContext>): Promise<unknown> => {
    const { path, type, ctx } = opts;
    const carrier = grantCarrierOf(opts.signal);
    const raw = await opts.getRawInput();
    const inInput = grantInInput(raw);
    const input = inInput === undefined ? raw : withoutGrant(raw as Record<string, unknown>);
    const token = carrier?.token ?? inInput;
    if (token === undefined) throw grantRequired(path);
    const reverify = (fresh: string, signal: AbortSignal): Promise<VerifiedGrant> =>
      verifyGrant(options.verify, { ctx, input, token: fresh, path, type, signal }, verifyTimeoutMs);
    const { preverified } = carrier ?? {};
    const verified = preverified?.token === token ? preverified : await reverify(token, opts.signal ?? neverAborted);
    const terms: GrantTerms = { expiresAt: verified.expiresAt, refreshAheadMs, graceMs, reverify };
    if (carrier !== undefined && opts.signal !== undefined) carrier.granted(terms, opts.signal);
    const nextOpts = { ctx: { grant: verified.grant }, ...(inInput === undefined ? {} : { getRawInput: () => Promise.resolve(input) }) };
    const result = (await opts.next(nextOpts)) as { ok: boolean; data?: unknown };
    if (carrier !== undefined || type !== 'subscription' || !result.ok || verified.expiresAt === null) return result;
    // No handler of ours times this grant: the stream ends by itself, as a stock client's would on our server.
    const endAt = verified.expiresAt - Math.min(refreshAheadMs, (verified.expiresAt - Date.now()) / 2);
    return { ...result, data: expireStream(result.data, endAt, path) };
  };
  return middleware as unknown as MiddlewareFunction<TContext, unknown, object, { grant: TGrant }, unknown>;
}

/** The options of a middleware, as far as {@link requireGrant} reads them. */
interface MiddlewareOptions<TContext> {
  ctx: TContext;
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  signal: AbortSignal | undefined;
  getRawInput(): Promise<unknown>;
  next(opts: object): Promise<unknown>;
}

const neverAborted = new AbortController().signal;

/** `input.grant` when the input is an object carrying a string there. */
function grantInInput(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const token = (input as Record<string, unknown>)[GRANT_INPUT_KEY];
  return typeof token === 'string' ? token : undefined;
}

/** A copy of `input` without its `grant`; `undefined` when nothing else was in it. */
function withoutGrant(input: Record<string, unknown>): unknown {
  const { [GRANT_INPUT_KEY]: _token, ...rest } = input;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

/**
 * Runs `verify` within `timeoutMs`, with a signal that aborts when the call's does or the time is
 * up, and checks what it returned. A refusal (`UNAUTHORIZED` / `FORBIDDEN`, or an `expiresAt`
 * already past) becomes a `grant-refused` error; a late answer is `TIMEOUT`; any other failure
 * passes through.
 */
async function verifyGrant<TContext, TGrant extends GrantBase>(
  verify: RequireGrantOptions<TContext, TGrant>['verify'],
  opts: VerifyGrantOptions<TContext>,
  timeoutMs: number,
): Promise<VerifiedGrant> {
  let grant: unknown;
  try {
    grant = await withinDeadline('verify', timeoutMs, (signal) => verify({ ...opts, signal }), opts.signal);
  } catch (cause) {
    if (cause instanceof TRPCError && (cause.code === 'UNAUTHORIZED' || cause.code === 'FORBIDDEN')) throw grantRefused(cause);
    throw cause;
  }
  if (typeof grant !== 'object' || grant === null) {
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'requireGrant: verify must return an object (the grant)' });
  }
  const expiresAt = (grant as GrantBase).expiresAt ?? null;
  if (expiresAt !== null && !Number.isFinite(expiresAt)) {
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'requireGrant: the grant\'s expiresAt must be a finite number or null' });
  }
  if (expiresAt !== null && expiresAt <= Date.now()) throw grantAlreadyExpired(opts.path);
  return { token: opts.token, grant, expiresAt };
}
