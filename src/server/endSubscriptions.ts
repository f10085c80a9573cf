import { TRPCError } from '@trpc/server';
import type { SubscriptionEnding } from '../broker/control/subscriptionTarget.js';
import type { SessionBase } from './auth/types.js';

/** What `endSubscriptions(filter)` shows its filter about one live subscription. */
export interface SubscriptionInfo<TSession extends SessionBase = SessionBase> {
  /** The connection's session; null only on a handler without `authenticate`. */
  readonly session: TSession | null;
  /** The procedure path, e.g. `'doc.watch'`. */
  readonly path: string;
  /**
   * The input as the client sent it: after the router's transformer, before the procedure's
   * `.input()` parsers (unvalidated: the client chose it), without the `lastEventId` a client adds
   * when it resumes. The same value on every node, which is what the `{ key, path, input }`
   * form matches across nodes. Read it, do not change it: a re-authorisation re-runs the
   * procedure with it.
   */
  readonly input: unknown;
}

/** Picks the subscriptions `endSubscriptions` ends. A throw counts as "no" for that subscription (see `endSubscriptions`). */
export type SubscriptionFilter<TSession extends SessionBase = SessionBase> = (subscription: SubscriptionInfo<TSession>) => boolean;

/** What the handler's `endSubscriptions` needs of one connection. */
export interface EndableConnection<TSession> {
  readonly isOpen: boolean;
  readonly auth: { readonly session: TSession | null };
  endSubscriptions(match: (path: string, input: unknown) => boolean, error: TRPCError): number;
}

/**
 * Ends, on `connections`, the live subscriptions `pick` chooses: `pick(session)` gives the
 * connection's matcher (by path and input), or null to leave the connection alone. One pass over
 * the live subscriptions; one `TRPCError` for the whole call. Returns how many ended.
 */
export function endSubscriptionsOn<TSession>(
  connections: Iterable<EndableConnection<TSession>>,
  pick: (session: TSession | null) => ((path: string, input: unknown) => boolean) | null,
  ending: SubscriptionEnding,
): number {
  const error = new TRPCError({ code: ending.code, message: ending.reason });
  let ended = 0;
  for (const connection of connections) {
    if (!connection.isOpen) continue;
    const match = pick(connection.auth.session);
    if (match !== null) ended += connection.endSubscriptions(match, error);
  }
  return ended;
}

/**
 * The app's filter as a matcher that never throws: a throw counts as "no" for that subscription
 * (the others are still looked at) and is remembered; {@link FilterGuard.failure} reports them
 * once, after the pass, so a filter that throws for every one of thousands of subscriptions
 * costs one report, not thousands.
 */
export class FilterGuard<TSession extends SessionBase> {
  private threw = 0;
  private firstCause: unknown;

  constructor(private readonly filter: SubscriptionFilter<TSession>) {}

  /** The matcher for the subscriptions of one connection with `session`. */
  forSession(session: TSession | null): (path: string, input: unknown) => boolean {
    return (path, input) => {
      try {
        return Boolean(this.filter({ session, path, input }));
      } catch (cause) {
        this.threw++;
        this.firstCause ??= cause;
        return false;
      }
    };
  }

  /** The error to report when the filter threw (for how many, and the first cause); null when it never did. */
  failure(): TRPCError | null {
    if (this.threw === 0) return null;
    return new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: `trpc-lanyard: the endSubscriptions filter threw for ${this.threw} subscription(s); they were left running`,
      cause: this.firstCause,
    });
  }
}
