import { TRPCError } from '@trpc/server';
import type { ErrorShape } from '../../protocol/messages.js';
import { AuthRefusalReason } from '../../protocol/messages.js';
import type { SessionBase } from './types.js';

/** A refused in-band authentication the client can act on: `reason` goes out as `error.data.lanyardReason`. */
export class AuthRefusal extends TRPCError {
  constructor(
    readonly reason: AuthRefusalReason,
    code: 'UNAUTHORIZED' | 'TOO_MANY_REQUESTS',
    message: string,
  ) {
    super({ code, message });
  }
}

/** The answer's error shape with `lanyardReason` added after the router's `errorFormatter` (so it is always there). */
export function withRefusalReason(shape: ErrorShape, cause: unknown): ErrorShape {
  if (!(cause instanceof AuthRefusal)) return shape;
  const data = typeof shape.data === 'object' && shape.data !== null ? shape.data : {};
  return { ...shape, data: { ...data, lanyardReason: cause.reason } };
}

/**
 * A mistake in the server's own hooks (not the client's credentials): answered as
 * `INTERNAL_SERVER_ERROR` (close 4500 at connect time) and always reported.
 */
export class SessionMisuseError extends TRPCError {
  constructor(message: string) {
    super({ code: 'INTERNAL_SERVER_ERROR', message: `trpc-lanyard: ${message}` });
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === 'number' || value === null || value === undefined ? String(value) : `a ${typeof value}`;
}

/**
 * Checks what `authenticate` or `revalidate` returned. Anything but an object is a refusal
 * (`UNAUTHORIZED`, 4401): a hook that returns nothing must not let a connection in without a
 * session. An `expiresAt` that is neither null/absent ("never") nor a finite number (NaN from
 * `exp * 1000` on a token without `exp`, a string) would mean "never expires" by accident, so
 * it is a {@link SessionMisuseError}.
 */
export function checkSession<TSession extends SessionBase>(result: unknown, hook: 'authenticate' | 'revalidate'): TSession {
  if (typeof result !== 'object' || result === null) {
    const refuse = hook === 'revalidate' ? 'return null to revoke' : 'throw TRPCError UNAUTHORIZED to refuse';
    throw new TRPCError({
      code: 'UNAUTHORIZED',
      message: `trpc-lanyard: ${hook} returned ${describe(result)} instead of a session object (${refuse})`,
    });
  }
  const { expiresAt, issuedAt } = result as SessionBase;
  if (!isOptionalTime(expiresAt)) {
    throw new SessionMisuseError(
      `${hook} returned a session whose expiresAt is ${describe(expiresAt)}; it must be a finite number of milliseconds since the epoch, or null/absent for a session that never expires`,
    );
  }
  if (!isOptionalTime(issuedAt)) {
    throw new SessionMisuseError(
      `${hook} returned a session whose issuedAt is ${describe(issuedAt)}; it must be a finite number of milliseconds since the epoch, or null/absent`,
    );
  }
  return result as TSession;
}

function isOptionalTime(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'number' && Number.isFinite(value));
}

/** When a checked session expires (ms since the epoch), or null for never. */
export function expiryOf(session: SessionBase | null): number | null {
  return session?.expiresAt ?? null;
}

/** Whether a checked session has expired by `nowMs`. */
export function hasExpiredBy(session: SessionBase, nowMs: number): boolean {
  const expiresAt = expiryOf(session);
  return expiresAt !== null && expiresAt <= nowMs;
}

/** The refusal of a session that expired before it could be installed, whichever path made it. */
export function expiredCredentials(): TRPCError {
  return new TRPCError({ code: 'UNAUTHORIZED', message: 'The credentials have expired' });
}

/**
 * Whether `next` only repeats `current`: the same grant, and an expiry no later (e.g. the
 * client answered a refresh request with a cached token). Adopting it would change nothing
 * but invite another refresh request, so it is refused as {@link AuthRefusalReason.NotFresher}.
 */
export function isNotFresher(current: SessionBase | null, next: SessionBase, sameGrant: boolean): boolean {
  const currentExpiry = expiryOf(current);
  const nextExpiry = expiryOf(next);
  return sameGrant && currentExpiry !== null && nextExpiry !== null && nextExpiry <= currentExpiry;
}

/** The refusal of a session that does not expire later than the current one. */
export function notFresher(): AuthRefusal {
  return new AuthRefusal(
    AuthRefusalReason.NotFresher,
    'UNAUTHORIZED',
    'The credentials do not expire later than the current session; fetch fresh ones',
  );
}
