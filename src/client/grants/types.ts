/** What the application gives the client to obtain per-subscription grants (PROTOCOL.md § 5.2). */

/** Why the client asks the {@link GrantProvider} for a token. */
export type GrantRequestReason =
  /** The subscription is about to be sent for the first time. */
  | 'subscribe'
  /** Its socket was lost: it is about to be sent again on a new one. */
  | 'resume'
  /** The server asked for a fresh token (`lanyard.grant.refresh`): the current one expires soon. */
  | 'expiring';

/** What the client asks the {@link GrantProvider} for. */
export interface GrantRequest {
  /** The subscription's procedure path, e.g. `'doc.watch'`. */
  readonly path: string;
  /** The subscription's input as the application passed it (before the transformer). */
  readonly input: unknown;
  readonly reason: GrantRequestReason;
}

/**
 * Gives the token for one subscription's grant:
 * - a string: the token;
 * - `undefined`: the subscription needs no grant (it is sent as any other);
 * - `null`: give the subscription up — it is not sent (or is stopped) and fails with
 *   `lanyardReason: 'grant-withdrawn'` (`grantErrorReason(error)`).
 *
 * A throw or rejection is retried with the client's `retryDelayMs` backoff: up to 3 attempts
 * for `'subscribe'` and `'resume'` (then the subscription fails with the thrown error as its
 * `cause`), and for `'expiring'` until the server answers or ends the subscription. The client
 * never has two calls in flight for one subscription.
 */
export type GrantProvider = (request: GrantRequest) => string | null | undefined | Promise<string | null | undefined>;

/** A per-call grant option (`context.grant`): a provider, or a fixed token. */
export type GrantOption = GrantProvider | string;

/** The provider `option` stands for: a string is a fixed token. */
export function grantProviderOf(option: unknown): GrantProvider | undefined {
  if (typeof option === 'function') return option as GrantProvider;
  if (typeof option === 'string') return () => option;
  return undefined;
}
