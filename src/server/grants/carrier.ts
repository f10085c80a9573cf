/**
 * How `requireGrant` (a middleware, deep in a procedure's chain) and our subscription registry
 * find each other: the registry runs each subscription's procedure with a signal of its own and
 * files a {@link GrantCarrier} under that signal before the call. The middleware looks it up by
 * `opts.signal`. Without our handler (stock `applyWSSHandler`, HTTP) there is none, and
 * `requireGrant` enforces the expiry itself.
 */

/** What `verify` concluded about one token, kept so a re-run does not verify the same token twice. */
export interface VerifiedGrant {
  readonly token: string;
  /** What `verify` returned. */
  readonly grant: object;
  readonly expiresAt: number | null;
}

/** A verified grant as the middleware hands it to the registry. */
export interface GrantTerms {
  readonly expiresAt: number | null;
  /** `refreshAheadMs` of the procedure's `requireGrant`. */
  readonly refreshAheadMs: number;
  /** `graceMs` of the procedure's `requireGrant`. */
  readonly graceMs: number;
  /** Runs the procedure's `verify` on a fresh token, with the context and input this run had. */
  reverify(token: string, signal: AbortSignal): Promise<VerifiedGrant>;
}

/** What the registry offers the middleware of one run of one subscription. */
export interface GrantCarrier {
  /** The token that came beside the input (`params.grant`), or the latest refreshed one. */
  readonly token: string | undefined;
  /** A token this run may take as verified (a refresh verified it a moment ago). */
  readonly preverified: VerifiedGrant | undefined;
  /** The middleware of the run that got `signal` verified a grant: the registry times it from here. */
  granted(terms: GrantTerms, signal: AbortSignal): void;
}

const carriers = new WeakMap<AbortSignal, GrantCarrier>();

/** Files `carrier` for the procedure run that gets `signal`. */
export function attachGrantCarrier(signal: AbortSignal, carrier: GrantCarrier): void {
  carriers.set(signal, carrier);
}

/** The carrier of the run that got `signal`, if our registry runs it. */
export function grantCarrierOf(signal: AbortSignal | undefined): GrantCarrier | undefined {
  return signal === undefined ? undefined : carriers.get(signal);
}
