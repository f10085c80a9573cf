import { grantErrorReason, isSubscriptionEndedError } from 'trpc-lanyard';

/** Why the document's subscription ended, as the panel shows it. */
export interface DocEnding {
  /**
   * The typed reason: `'subscription-ended'` (the server ended it on purpose, e.g. "withdraw my
   * access"), a grant reason (`'grant-refused'`, `'grant-expired'`, `'grant-required'`,
   * `'grant-withdrawn'`), or `'error'` for anything else.
   */
  readonly reason: string;
  /** The tRPC error code, e.g. `FORBIDDEN`, or null (a client-side failure). */
  readonly code: string | null;
  readonly message: string;
}

/** The subscription's error (a `TRPCClientError`) as a {@link DocEnding}. */
export function docEndingOf(error: unknown): DocEnding {
  const reason = isSubscriptionEndedError(error) ? 'subscription-ended' : (grantErrorReason(error) ?? 'error');
  const { data, message } = (typeof error === 'object' && error !== null ? error : {}) as { data?: { code?: unknown } | null; message?: unknown };
  return { reason, code: typeof data?.code === 'string' ? data.code : null, message: typeof message === 'string' ? message : String(error) };
}
