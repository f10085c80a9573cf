import { TRPCError } from '@trpc/server';
import { GRANT_MESSAGE_PREFIX, GrantReason } from '../../protocol/grants.js';

/** The reasons a grant failure is sent with (the client-side `grant-withdrawn` is not one). */
export type ServerGrantReason = typeof GrantReason.Required | typeof GrantReason.Refused | typeof GrantReason.Expired;

/**
 * A grant failure: a `TRPCError` that says which {@link GrantReason} it is, so the registry adds
 * `data.lanyardReason` to its frame. tRPC keeps a thrown `TRPCError` as it is, so the mark
 * survives the middleware chain.
 */
export class GrantError extends TRPCError {
  constructor(
    readonly grantReason: ServerGrantReason,
    opts: ConstructorParameters<typeof TRPCError>[0],
  ) {
    super(opts);
  }
}

/** No token came with the subscription. */
export function grantRequired(path: string): GrantError {
  return new GrantError(GrantReason.Required, {
    code: 'UNAUTHORIZED',
    message: `${GRANT_MESSAGE_PREFIX}${GrantReason.Required}: ${path} needs a grant token (params.grant, or input.grant)`,
  });
}

/** The grant was not refreshed in time (for a client that cannot refresh in band: before it expires). */
export function grantExpired(path: string): GrantError {
  return new GrantError(GrantReason.Expired, {
    code: 'UNAUTHORIZED',
    message: `${GRANT_MESSAGE_PREFIX}${GrantReason.Expired}: the grant for ${path} expired; subscribe again with a fresh one`,
  });
}

/** `verify` refused the token: its own code and message, marked as a refusal. */
export function grantRefused(error: TRPCError): GrantError {
  return new GrantError(GrantReason.Refused, { code: error.code, message: error.message, cause: error });
}

/** `verify` returned an `expiresAt` that has already passed: a refusal. */
export function grantAlreadyExpired(path: string): GrantError {
  return new GrantError(GrantReason.Refused, {
    code: 'UNAUTHORIZED',
    message: `the grant for ${path} has already expired`,
  });
}

/** The reason to send with `cause`, when it is a grant failure. */
export function grantReasonOf(cause: unknown): ServerGrantReason | undefined {
  return cause instanceof GrantError ? cause.grantReason : undefined;
}
