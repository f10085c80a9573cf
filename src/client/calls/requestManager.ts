import type { RequestMessage, SubscriptionStopMessage } from '../../protocol/index.js';
import type { Call, ResponseMessage, Route, Stops } from './call.js';
import { acceptTrackedEvent, Role } from './call.js';
import type { Connection } from '../socket/connection.js';
import type { GrantSendHooks } from './grantSends.js';
import { GrantFlush, GrantSends } from './grantSends.js';
import { RouteTable } from './routeTable.js';
import { rethrowLater } from '../userCallback.js';

/** What the client learns from the manager. */
export interface RequestManagerHooks extends GrantSendHooks {
  /** A route on `connection` went away: the socket may now be drained. */
  onRouteRemoved(connection: Connection): void;
  /** The last live call ended. */
  onIdle(): void;
}

/**
 * Bookkeeping of calls: the queue of calls not yet sent, every wire id in flight (O(1)
 * lookup per incoming frame), subscriptions with their `lastEventId`, and the move of a
 * subscription from one socket to another with tracked event ids de-duplicated. Grant
 * subscriptions take their way to a socket through {@link GrantSends}.
 */
export class RequestManager {
  private lastWireId = 0;
  private readonly routes = new RouteTable();
  private readonly calls = new Set<Call>();
  private readonly queue = new Set<Call>();
  private settledWaiters: Array<() => void> = [];
  /** How grant subscriptions are sent, wait, fail and are renewed. */
  public readonly grantSends: GrantSends;

  constructor(private readonly hooks: RequestManagerHooks) {
    const routing = {
      queue: this.queue,
      route: (call: Call, connection: Connection, role: Role, params?: RequestMessage['params']) => this.route(call, connection, role, params),
      remove: (route: Route, sendStop: boolean) => this.remove(route, sendStop),
      fail: (call: Call, error: Error) => this.fail(call, error),
    };
    this.grantSends = new GrantSends(routing, hooks);
  }

  /** Registers a new call; it is then sent with {@link sendNow} or queued with {@link enqueue}. */
  public register(call: Call): void {
    this.calls.add(call);
  }

  /** A wire id no call has used, from the same counter (`lanyard.authenticate` shares the id space). */
  public nextWireId(): number {
    return ++this.lastWireId;
  }

  /** How many calls are live (queued, in flight, or subscribed). */
  public get size(): number {
    return this.calls.size;
  }

  /** Whether a live subscription exists. */
  public hasSubscriptions(): boolean {
    for (const call of this.calls) if (call.method === 'subscription') return true;
    return false;
  }

  /** Whether calls wait for a socket. */
  public hasQueued(): boolean {
    return this.queue.size > 0;
  }

  /** Whether any call is routed on `connection`. */
  public hasRoutesOn(connection: Connection): boolean {
    return this.routes.hasRoutesOn(connection);
  }

  /** Queues `call` for the next ready socket. */
  public enqueue(call: Call): void {
    this.queue.add(call);
  }

  /** Sends `call` on a ready socket, with the others sent in this tick. */
  public sendNow(call: Call, connection: Connection): void {
    connection.send(this.route(call, connection, Role.Primary));
  }

  /**
   * Sends, in ONE frame, everything `connection` should now carry: every queued call, and a
   * resubscription (with `lastEventId`, under a new id) of each subscription another socket
   * still answers. That socket keeps delivering until this one says `started`.
   */
  public flushTo(connection: Connection): void {
    const batch: RequestMessage[] = [];
    // Grant subscriptions that cannot go yet (see `SubscriptionGrant.paramsOn`), or cannot go at all.
    let grants: GrantFlush | null = null;
    this.grantSends.holds = false;
    for (const call of this.calls) {
      const { primary, successor } = call;
      if (call.method !== 'subscription' || primary === null || primary.connection === connection) continue;
      if (successor?.connection === connection) continue;
      let params: RequestMessage['params'] | undefined;
      if (call.grant !== null) {
        params = (grants ??= new GrantFlush()).paramsOn(call, call.grant, connection, true);
        if (params === undefined) continue; // it stays where it runs until this socket can take it, or fails below
      }
      if (successor !== null) this.remove(successor, true); // it was moving to a socket that lost its place
      call.overlap ??= new Set();
      batch.push(this.route(call, connection, Role.Successor, params));
    }
    for (const call of this.queue) {
      if (call.grant === null) {
        batch.push(this.route(call, connection, Role.Primary));
        continue;
      }
      const params = (grants ??= new GrantFlush()).paramsOn(call, call.grant, connection, false);
      if (params !== undefined) batch.push(this.route(call, connection, Role.Primary, params));
    }
    this.queue.clear();
    if (grants?.holds) {
      this.grantSends.holds = true;
      grants.requeueHeld(this.queue);
    }
    if (batch.length > 0) connection.sendFrame(batch.length === 1 ? batch[0] : batch);
    grants?.failRejected(this);
  }

  /**
   * Routes one message that carries an id to its call.
   * @returns `false` when no call waits for this id on this socket (the frame is ignored).
   */
  public handle(connection: Connection, message: ResponseMessage): boolean {
    const route = this.routes.find(connection, message.id);
    if (route === undefined) return false;
    switch (route.role) {
      case Role.Primary:
        this.onPrimaryMessage(route.call, message);
        break;
      case Role.Successor:
        this.promote(route.call);
        this.onPrimaryMessage(route.call, message);
        break;
      case Role.Draining:
        this.onDrainingMessage(route, message);
        break;
    }
    return true;
  }

  /**
   * An error answer on a socket the server refused (it sent an `id: null` error before answering
   * anything, and answers each waiting call with the refusal before it closes): a query or
   * mutation fails with it (it never ran); a subscription is left as it is — the close decides
   * whether it is sent again on the next socket or fails with the client's stop.
   */
  public handleRefused(connection: Connection, message: ResponseMessage): void {
    const route = this.routes.find(connection, message.id);
    if (route !== undefined && route.call.method !== 'subscription') this.handle(connection, message);
  }

  /**
   * `connection` is gone. Queries and mutations sent on it fail with `error` (they may have
   * run: they are not retried); its subscriptions are queued to be sent again, or carry on
   * on the socket they were moving to.
   */
  public connectionLost(connection: Connection, error: Error): void {
    const routes = this.routes.takeAll(connection);
    if (routes === undefined) return;
    for (const route of routes) {
      const { call } = route;
      if (call.ended) continue;
      if (route.role === Role.Successor) {
        call.successor = null; // the old socket still has it; it moves with the next socket
      } else if (route.role === Role.Primary) {
        call.primary = null;
        if (call.method !== 'subscription') {
          this.finish(call, null, error, 'none');
        } else if (call.successor !== null) {
          this.promote(call);
        } else {
          call.started = false; // a real reconnect: the subscriber sees `started` again, as with tRPC
          call.overlap = null;
          this.queue.add(call);
          if (call.grant !== null) this.hooks.onGrantRequeued(call, 'resume');
        }
      }
    }
    this.hooks.onRouteRemoved(connection);
  }

  /** The subscriber went away: stop the subscription wherever it runs, forget the call. */
  public cancel(call: Call): void {
    if (call.ended) return;
    this.end(call, 'all');
  }

  /** Fails `call` with `error`, stopping it wherever it may run (a grant the app gave up, or could not get). */
  public fail(call: Call, error: Error): void {
    this.finish(call, null, error, 'all');
  }

  /** The live subscription answered by wire id `wireId` on `connection` (not one that moved away), or `undefined`. */
  public subscriptionOn(connection: Connection, wireId: number): Call | undefined {
    const route = this.routes.find(connection, wireId);
    if (route === undefined || route.role === Role.Draining || route.call.method !== 'subscription' || route.call.ended) return undefined;
    return route.call;
  }

  /** Fails every live call with `error`; nothing is sent. */
  public failAll(error: Error): void {
    for (const call of [...this.calls]) this.finish(call, null, error, 'none');
  }

  /** Completes every subscription; nothing is sent (the client is closing its sockets). */
  public completeSubscriptions(): void {
    for (const call of [...this.calls]) if (call.method === 'subscription') this.finish(call, null, null, 'none');
  }

  /** Fails the queries and mutations that were never sent; subscriptions stay queued. */
  public failQueued(error: Error): void {
    for (const call of [...this.queue]) if (call.method !== 'subscription') this.finish(call, null, error, 'none');
  }

  /** `messages` (taken back from `connection` before they went out) were not sent: their calls are queued again. */
  public unsend(connection: Connection, messages: readonly unknown[]): void {
    for (const message of messages) {
      const route = this.routes.find(connection, (message as { id?: unknown }).id);
      if (route?.role !== Role.Primary) continue;
      this.routes.delete(route);
      route.call.primary = null;
      this.queue.add(route.call);
    }
  }

  /** Resolves once no query or mutation is in flight. */
  public whenOneShotsSettled(): Promise<void> {
    if (!this.hasOneShotsInFlight()) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private onPrimaryMessage(call: Call, message: ResponseMessage): void {
    if (!('result' in message) || call.method !== 'subscription') {
      if (call.grant !== null && 'error' in message && this.grantSends.renewed(call, message)) return;
      this.finish(call, message, null, 'others');
      return;
    }
    const { result } = message;
    switch (result.type) {
      case 'data': {
        if (result.id !== undefined && !acceptTrackedEvent(call, String(result.id))) return;
        deliver(call, message);
        return;
      }
      case 'started':
        if (call.started) return;
        call.started = true;
        deliver(call, message);
        return;
      case 'stopped':
        this.finish(call, message, null, 'others');
        return;
    }
  }

  /** A moved subscription's old socket: only events without ids (which cannot be replayed) still count. */
  private onDrainingMessage(route: Route, message: ResponseMessage): void {
    if (!('result' in message) || message.result.type === 'stopped') {
      this.removeRoute(route);
      return;
    }
    const { result } = message;
    if (result.type === 'data' && result.id === undefined && !route.call.ended) {
      deliver(route.call, message);
    }
  }

  /** The new socket confirmed a moving subscription: stop it on the old one, which drains. */
  private promote(call: Call): void {
    const previous = call.primary;
    const next = call.successor;
    if (next === null) return;
    next.role = Role.Primary;
    call.primary = next;
    call.successor = null;
    if (call.overlap?.size === 0) call.overlap = null;
    if (previous === null) return;
    previous.role = Role.Draining;
    const { connection } = previous;
    if (!connection.isReady) {
      this.removeRoute(previous);
      return;
    }
    const stop: SubscriptionStopMessage = { id: previous.wireId, method: 'subscription.stop' };
    connection.send(stop);
    // `stopped` may wait on the procedure; the PONG cannot, and comes after all it sent before.
    connection.ping(() => this.removeRoute(previous));
  }

  /** Routes `call` on `connection` under a new wire id; `params` (a grant subscription's) replace its own. */
  private route(call: Call, connection: Connection, role: Role, params?: RequestMessage['params']): RequestMessage {
    const wireId = this.nextWireId();
    const route: Route = { wireId, call, connection, role };
    this.routes.add(route);
    if (role === Role.Primary) call.primary = route;
    else call.successor = route;
    return {
      id: wireId,
      method: call.method,
      params: params ?? { path: call.path, input: call.input, lastEventId: call.lastEventId },
    };
  }

  private removeRoute(route: Route): void {
    if (this.routes.delete(route)) this.hooks.onRouteRemoved(route.connection);
  }

  private remove(route: Route, sendStop: boolean): void {
    if (sendStop && route.call.method === 'subscription' && route.connection.isReady && this.routes.has(route)) {
      const stop: SubscriptionStopMessage = { id: route.wireId, method: 'subscription.stop' };
      route.connection.send(stop);
    }
    this.removeRoute(route);
  }

  /** Ends `call`, then tells its sink: `message` first if any, then `error` or completion. */
  private finish(call: Call, message: ResponseMessage | null, error: Error | null, stops: Stops): void {
    if (call.ended) return;
    this.end(call, stops);
    if (message !== null) deliver(call, message);
    try {
      if (error !== null) call.onFailure(error);
      else call.onEnd();
    } catch (thrown) {
      rethrowLater(thrown);
    }
  }

  /** Forgets `call`, sending `subscription.stop` where `stops` says it may still run. */
  private end(call: Call, stops: Stops): void {
    call.ended = true;
    this.calls.delete(call);
    this.queue.delete(call);
    if (call.primary !== null) this.remove(call.primary, stops === 'all');
    if (call.successor !== null) this.remove(call.successor, stops !== 'none');
    call.primary = null;
    call.successor = null;
    call.overlap = null;
    if (this.settledWaiters.length > 0 && !this.hasOneShotsInFlight()) {
      const waiters = this.settledWaiters;
      this.settledWaiters = [];
      for (const resolve of waiters) resolve();
    }
    if (this.calls.size === 0) this.hooks.onIdle();
  }

  private hasOneShotsInFlight(): boolean {
    for (const call of this.calls) if (call.method !== 'subscription' && call.primary !== null) return true;
    return false;
  }
}

/** Hands `message` to its call; what the subscriber throws cannot break the bookkeeping (see `callSafely`). */
function deliver(call: Call, message: ResponseMessage): void {
  try {
    call.onResponse(message);
  } catch (thrown) {
    rethrowLater(thrown);
  }
}
