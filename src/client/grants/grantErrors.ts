/** The errors a grant subscription fails with on the client's own account. */
import { TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { GRANT_MESSAGE_PREFIX, GrantReason } from '../../protocol/grants.js';

type ClientError = TRPCClientError<AnyTRPCRouter>;

/** tRPC's `CLIENT_CLOSED_REQUEST` (HTTP 499): the client gave the subscription up. */
const CLIENT_CLOSED_REQUEST = { code: -32099, name: 'CLIENT_CLOSED_REQUEST', httpStatus: 499 } as const;
/** tRPC's `BAD_REQUEST`. */
const BAD_REQUEST = { code: -32600, name: 'BAD_REQUEST', httpStatus: 400 } as const;

/**
 * The grant provider returned `null` for the subscription at `path`: its error carries
 * `lanyardReason: 'grant-withdrawn'` in `data` and `shape.data`, so `grantErrorReason` reads it.
 */
export function grantWithdrawnError(path: string): ClientError {
  const { code, name, httpStatus } = CLIENT_CLOSED_REQUEST;
  return TRPCClientError.from({
    error: {
      code,
      message: `${GRANT_MESSAGE_PREFIX}${GrantReason.Withdrawn}: the grant provider gave the subscription "${path}" up`,
      data: { code: name, httpStatus, path, lanyardReason: GrantReason.Withdrawn },
    },
  });
}

/** A grant for `path` must travel in its input (the server is stock), but the input is not an object. */
export function grantInputError(path: string): ClientError {
  const { code, name, httpStatus } = BAD_REQUEST;
  return TRPCClientError.from({
    error: {
      code,
      message: `The subscription "${path}" has a grant, and a grant needs an object input (or none) on a server without trpc-lanyard`,
      data: { code: name, httpStatus, path },
    },
  });
}

/** The grant provider kept failing (`cause` is what it threw last). */
export function grantProviderError(cause: unknown): ClientError {
  return TRPCClientError.from(cause instanceof Error ? cause : new Error(String(cause), { cause }));
}
