/** The records the request manager keeps: one {@link Call} per subscriber, one {@link Route} per wire id. */
import type { DataResultMessage, ErrorMessage, LifecycleResultMessage, ProcedureType } from '../../protocol/index.js';
import type { Connection } from '../socket/connection.js';
import type { SubscriptionGrant } from '../grants/subscriptionGrant.js';

/** A server message that answers one call. */
export type ResponseMessage = DataResultMessage | LifecycleResultMessage | ErrorMessage;

/**
 * Where the results of one call go: the call itself, built around the caller's observer. The
 * request manager calls these (and catches what they throw); they are methods, so that a call
 * costs one object, not one plus a closure per outcome.
 */
export interface CallSink {
  /** A result or error message for this call, as received. */
  onResponse(message: ResponseMessage): void;
  /** Ends the call with an error of the client's own (the socket closed). */
  onFailure(cause: Error): void;
  /** Ends the call without an error. */
  onEnd(): void;
}

/** Which of a call's routes get `subscription.stop` when it ends: all, all but the one that ended it, none (the client is closing). */
export type Stops = 'all' | 'others' | 'none';

/** The part a call plays on one socket. */
export const Role = {
  /** The socket that answers the call. */
  Primary: 'primary',
  /** A subscription moving here: resubscribed, not yet `started`. */
  Successor: 'successor',
  /** A subscription that moved away: stopped here, its last frames still arriving. */
  Draining: 'draining',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** A wire id on one socket, for one call. Every send gets a new wire id. */
export interface Route {
  readonly wireId: number;
  readonly call: Call;
  readonly connection: Connection;
  role: Role;
}

/** One subscriber of `request()`: a query, a mutation or a subscription, and where its results go. */
export interface Call extends CallSink {
  readonly method: ProcedureType;
  readonly path: string;
  /** Already serialised by the transformer. */
  readonly input: unknown;
  /** The id of the last `tracked()` event delivered; sent again on resubscription. */
  lastEventId: string | undefined;
  /** The route that answers the call; `null` while queued. */
  primary: Route | null;
  /** While a subscription moves to a new socket: its route there, until `started`. */
  successor: Route | null;
  /** Tracked event ids the old socket delivered during a move; the new socket's replays of them are dropped. */
  overlap: Set<string> | null;
  /** The subscriber has seen `started`; a resubscription's `started` is not shown again. */
  started: boolean;
  /** No more callbacks: finished, failed or cancelled. */
  ended: boolean;
  /** A subscription's grant (PROTOCOL.md § 5.2), when the app gave a provider; `null` for every other call. */
  grant: SubscriptionGrant | null;
}

/**
 * Takes tracked event `eventId` for `call`, from the socket that answers it: `false` when the
 * new socket of a moved subscription replays one the old socket already delivered (drop it).
 * Records it as the call's `lastEventId` otherwise.
 */
export function acceptTrackedEvent(call: Call, eventId: string): boolean {
  const { overlap } = call;
  if (overlap !== null) {
    if (call.successor !== null) {
      overlap.add(eventId); // the old socket, still in charge while the move is unconfirmed
    } else if (overlap.delete(eventId)) {
      if (overlap.size === 0) call.overlap = null;
      return false;
    }
  }
  call.lastEventId = eventId;
  return true;
}
