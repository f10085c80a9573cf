/**
 * How grant subscriptions reach a socket (PROTOCOL.md § 5.2), for the request manager: each is
 * sent with the params its grant gives it there (`SubscriptionGrant.paramsOn`), waits while it
 * cannot go yet, fails when its token cannot travel there, and is queued again, unseen by its
 * subscriber, when its server ended it for an expiring grant. Calls without a grant never reach it.
 */
import type { ErrorMessage, RequestMessage } from '../../protocol/index.js';
import type { SubscriptionGrant } from '../grants/subscriptionGrant.js';
import { HOLD } from '../grants/subscriptionGrant.js';
import type { Connection } from '../socket/connection.js';
import type { Call, Route } from './call.js';
import { Role } from './call.js';

/** What the client learns of grant subscriptions from the request manager. */
export interface GrantSendHooks {
  /**
   * A grant subscription is queued again and needs a token before it is sent: `'resume'` (it lost
   * its socket) or `'expiring'` (a stock server ended it for an expiring grant, see {@link renewsGrant}).
   */
  onGrantRequeued(call: Call, reason: 'resume' | 'expiring'): void;
  /** A grant subscription's server ended it with `message`: whether to send it again with a fresh token instead of failing it. */
  renewsGrant(call: Call, message: ErrorMessage): boolean;
}

/** The request manager's bookkeeping, as grant sends use it. */
export interface CallRouting {
  /** The calls waiting for a socket. */
  readonly queue: Set<Call>;
  /** Routes `call` on `connection` under a new wire id; `params` (a grant subscription's) replace its own. */
  route(call: Call, connection: Connection, role: Role, params?: RequestMessage['params']): RequestMessage;
  /** Forgets `route`; `sendStop`: stop the subscription there if it may still run. */
  remove(route: Route, sendStop: boolean): void;
  /** Fails `call` with `error`, stopping it wherever it may run. */
  fail(call: Call, error: Error): void;
}

/** The grant side of one request manager. */
export class GrantSends {
  /** The last flush (or send) left a grant subscription waiting (for its token, or for the socket to negotiate). */
  public holds = false;

  constructor(
    private readonly routing: CallRouting,
    private readonly hooks: GrantSendHooks,
  ) {}

  /**
   * Sends the queued grant subscription `call` on the ready `connection` once its token came (see
   * `SubscriptionGrant.paramsOn`): it stays queued while it must wait, fails when its token cannot
   * travel there.
   */
  public send(call: Call, connection: Connection): void {
    const { routing } = this;
    if (call.grant === null || !routing.queue.has(call)) return;
    const granted = call.grant.paramsOn(call, connection, false);
    if (granted === HOLD) {
      this.holds = true;
    } else if (granted instanceof Error) {
      routing.fail(call, granted);
    } else {
      routing.queue.delete(call);
      connection.send(routing.route(call, connection, Role.Primary, granted));
    }
  }

  /**
   * Whether the server's error `message` ending the grant subscription `call` renews its grant:
   * then it is sent again, from its last tracked event, once a fresh token came. The subscriber
   * sees nothing (not even `started` again).
   */
  public renewed(call: Call, message: ErrorMessage): boolean {
    if (!this.hooks.renewsGrant(call, message)) return false;
    const { primary, successor } = call;
    call.primary = null;
    call.successor = null;
    call.overlap = null;
    if (primary !== null) this.routing.remove(primary, false); // ended by the server: its `stopped` is not waited for
    if (successor !== null) this.routing.remove(successor, true);
    this.routing.queue.add(call);
    this.hooks.onGrantRequeued(call, 'expiring');
    return true;
  }
}

/**
 * The grant subscriptions of one `RequestManager.flushTo` that cannot go: made for the flush's
 * first grant subscription, so a flush without any allocates nothing.
 */
export class GrantFlush {
  /** A grant subscription waits (for its token, or for the socket to negotiate). */
  public holds = false;
  private held: Call[] | undefined;
  private failed: Array<[Call, Error]> | undefined;

  /**
   * The params `call` (whose grant is `grant`) goes to `connection` with now, or `undefined` when
   * it must wait or fail. `moving`: a live subscription moving there make-before-break, which
   * stays where it runs while it waits; otherwise a queued call, which goes back to the queue.
   */
  public paramsOn(call: Call, grant: SubscriptionGrant, connection: Connection, moving: boolean): RequestMessage['params'] | undefined {
    const granted = grant.paramsOn(call, connection, moving);
    if (granted === HOLD) {
      this.holds = true;
      if (!moving) (this.held ??= []).push(call);
      return undefined;
    }
    if (granted instanceof Error) {
      (this.failed ??= []).push([call, granted]);
      return undefined;
    }
    return granted;
  }

  /** Puts the queued calls that wait back in `queue` (which the flush emptied). */
  public requeueHeld(queue: Set<Call>): void {
    if (this.held !== undefined) for (const call of this.held) queue.add(call);
  }

  /** Fails the calls whose token cannot travel on the flush's socket; after the flush's frame went out. */
  public failRejected(routing: Pick<CallRouting, 'fail'>): void {
    if (this.failed !== undefined) for (const [call, error] of this.failed) routing.fail(call, error);
  }
}
