import type { AnyRouter } from '@trpc/server';
import { isTrackedEnvelope, TRPCError } from '@trpc/server';
import type { Observable, Unsubscribable } from '@trpc/server/observable';
import { isObservable } from '@trpc/server/observable';
import type { GrantMessage } from '../protocol/grants.js';
import { GrantReason } from '../protocol/grants.js';
import type { RequestId, RequestMessage } from '../protocol/messages.js';
import { SUBSCRIPTION_ENDED_REASON } from '../protocol/subscriptionEnded.js';
import { deserializeInput, isStream, withLastEventId } from './calls.js';
import { isAbortError } from './errors.js';
import type { FrameHead } from './frames.js';
import type { GrantCarrier, GrantTerms, VerifiedGrant } from './grants/carrier.js';
import { attachGrantCarrier } from './grants/carrier.js';
import type { GrantedSubscription } from './grants/grantDesk.js';
import { GrantDesk } from './grants/grantDesk.js';
import { grantReasonOf } from './grants/grantError.js';
import type { GrantLease } from './grants/lease.js';
import { callProcedure } from './procedureCall.js';
import type { CallScope } from './scope.js';

/** What the registry needs from its connection. */
export interface SubscriptionHost<TRouter extends AnyRouter> extends CallScope<TRouter> {
  /** Whether an event may go out now (false once the session has expired: the event is held for replay). */
  deliverable(): boolean;
  /** Whether the client negotiated our extensions (it can be asked for fresh grants). */
  readonly negotiated: boolean;
}

/** One live subscription of a connection. Its source may be replaced on re-authorisation. */
class ActiveSubscription implements GrantedSubscription, GrantCarrier {
  controller = new AbortController();
  stopped = false;
  /** Set while the source is being replaced: the old source's events are dropped (the new one replays them). */
  swapping = false;
  /** Bumped on every new source; a loop over an older source ends. */
  generation = 0;
  iterator: AsyncIterator<unknown> | null = null;
  observer: Unsubscribable | null = null;
  /** The input as deserialised, before `lastEventId` is merged in. */
  baseInput: unknown = undefined;
  /** The input the procedure last ran with. */
  input: unknown = undefined;
  /** The id of the last `tracked()` event sent. */
  lastEventId: string | undefined;
  /** The grant token for the next run (`params.grant`, then each accepted refresh). */
  grantToken: string | undefined;
  preverified: VerifiedGrant | undefined = undefined;
  lease: GrantLease<GrantedSubscription> | null = null;

  constructor(
    private readonly registry: { granted(sub: ActiveSubscription, terms: GrantTerms): void },
    readonly head: FrameHead,
    readonly path: string,
    readonly batchIndex: number,
    lastEventId: string | undefined,
    grantToken: string | undefined,
  ) {
    this.lastEventId = lastEventId;
    this.grantToken = grantToken;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** GrantCarrier: the token for the run that got `signal`. */
  get token(): string | undefined {
    return this.grantToken;
  }

  /** GrantCarrier: `requireGrant` verified a grant in the run that got `signal`; a run replaced meanwhile is ignored. */
  granted(terms: GrantTerms, signal: AbortSignal): void {
    if (this.stopped || signal !== this.controller.signal) return;
    this.preverified = undefined;
    this.registry.granted(this, terms);
  }
}

/**
 * The live subscriptions of one connection, by request id: starts them, streams their
 * events as frames, re-authorises them when the session changes, and stops them (client
 * `subscription.stop`, natural end, error, or the connection closing). A stopped
 * subscription's id is free again at once.
 */
export class SubscriptionRegistry<TRouter extends AnyRouter> {
  private readonly active = new Map<RequestId, ActiveSubscription>();
  private isSuspended = false;
  /** Made when the first grant is verified or presented: most connections never need one. */
  private grantDesk: GrantDesk<TRouter> | null = null;

  constructor(private readonly scope: SubscriptionHost<TRouter>) {}

  /** The connection's grant desk, made on first use. */
  private get grants(): GrantDesk<TRouter> {
    if (this.grantDesk !== null) return this.grantDesk;
    const { scope } = this;
    this.grantDesk = new GrantDesk({
      scope,
      get negotiated() {
        return scope.negotiated;
      },
      find: (id) => this.active.get(id),
      endWithGrantError: (sub, error) => this.endOne(sub as ActiveSubscription, error, grantReasonOf(error) ?? GrantReason.Expired),
      rerun: (sub) => void this.reauthorizeOne(sub as ActiveSubscription),
    });
    return this.grantDesk;
  }

  /** GrantCarrier, through a subscription: its procedure's current run verified a grant. */
  granted(sub: ActiveSubscription, terms: GrantTerms): void {
    this.grants.lease(sub, terms);
  }

  /** Whether an event may go out now (false once the session has expired: the event is held for replay). */
  private deliverable(): boolean {
    return this.scope.deliverable();
  }

  get size(): number {
    return this.active.size;
  }

  /** Starts the subscription `message` asks for; a duplicate id gets `BAD_REQUEST`. */
  async start(message: RequestMessage, batchIndex: number): Promise<void> {
    const { scope } = this;
    const head = scope.frames.head(message.id, message.jsonrpc);
    const { path } = message.params;
    if (this.active.has(message.id)) {
      const error = new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${message.id}` });
      scope.send(scope.frames.error(head, scope.errors.report(error, 'subscription', path, undefined)));
      return;
    }
    const sub = new ActiveSubscription(this, head, path, batchIndex, message.params.lastEventId, message.params.grant);
    this.active.set(message.id, sub);
    let source: unknown;
    try {
      sub.baseInput = deserializeInput(scope.router, message.params.input);
      source = await this.open(sub);
    } catch (cause) {
      if (sub.stopped) {
        if (!isAbortError(cause)) scope.errors.report(cause, 'subscription', path, sub.input);
        return;
      }
      this.forget(sub);
      this.releaseGrant(sub);
      // A failure while setting up (context, middleware, input, grant) gets only the error frame.
      scope.send(scope.frames.error(head, this.report(cause, sub)));
      return;
    }
    if (sub.stopped) {
      release(source);
      return;
    }
    scope.send(scope.frames.started(head));
    this.attach(sub, source);
  }

  /** The client's `subscription.stop`: ends it and answers `stopped`. Unknown ids are ignored. */
  stop(id: RequestId): void {
    const sub = this.active.get(id);
    if (!sub) return;
    this.halt(sub);
    this.scope.send(this.scope.frames.stopped(sub.head));
  }

  /**
   * The server ends subscriptions on purpose (`endSubscriptions`): each live one `match` picks,
   * given its path and its input as the client sent it (before the procedure's parsers, without
   * `lastEventId`), is halted (its signal aborted, its source released, nothing more sent for it)
   * and answered with `error` (`lanyardReason: 'subscription-ended'`) then `stopped`. One still
   * being set up or re-authorised ends too, and never says `started`. Returns how many; one pass
   * over the live subscriptions. `match` must not throw.
   */
  endWhere(match: (path: string, input: unknown) => boolean, error: TRPCError): number {
    let ended = 0;
    for (const sub of this.active.values()) {
      if (sub.stopped || !match(sub.path, sub.baseInput)) continue;
      ended++;
      this.endOne(sub, error, SUBSCRIPTION_ENDED_REASON);
    }
    return ended;
  }

  /** The client's `lanyard.grant`: a fresh grant for one live subscription (PROTOCOL.md § 5.2). */
  presentGrant(message: GrantMessage): Promise<void> {
    return this.grants.present(message);
  }

  /** Ends `sub` on purpose: halted, then `error` with `lanyardReason` (`onError` is not told), then `stopped`. */
  private endOne(sub: ActiveSubscription, error: TRPCError, lanyardReason: string): void {
    if (sub.stopped) return;
    try {
      this.halt(sub);
    } catch (cause) {
      // A source's teardown threw: the subscription is stopped all the same.
      this.scope.errors.report(cause, 'subscription', sub.path, sub.input);
    }
    const { scope } = this;
    const shape = scope.errors.shapeWithReason({ error, type: 'subscription', path: sub.path, input: sub.input }, lanyardReason);
    scope.send(scope.frames.error(sub.head, shape));
    scope.send(scope.frames.stopped(sub.head));
  }

  /** The connection closed: ends every subscription without a word to the client. */
  stopAll(): void {
    for (const sub of this.active.values()) this.halt(sub);
  }

  /** Whether delivery is suspended (the session expired) until the next {@link reauthorize}. */
  get suspended(): boolean {
    return this.isSuspended;
  }

  /**
   * The session expired: nothing more is delivered under it. Each source keeps running but its
   * events are dropped; {@link reauthorize} (after a refresh) re-runs the subscriptions from
   * their last tracked event, which replays what was dropped.
   */
  suspend(): void {
    this.isSuspended = true;
    for (const sub of this.active.values()) sub.swapping = true;
  }

  /**
   * The session changed: re-runs every live subscription's procedure (middlewares included)
   * under the current context, from its last tracked event. One now refused ends with its
   * error and `stopped`; the others carry on from the new source without a gap (the old
   * source's events are dropped from the moment the swap starts and replayed by the new one).
   */
  async reauthorize(): Promise<void> {
    this.isSuspended = false;
    await Promise.all([...this.active.values()].map((sub) => this.reauthorizeOne(sub)));
  }

  private async reauthorizeOne(sub: ActiveSubscription): Promise<void> {
    sub.swapping = true;
    const previous = { controller: sub.controller, iterator: sub.iterator, observer: sub.observer };
    sub.controller = new AbortController();
    let source: unknown;
    try {
      source = await this.open(sub);
    } catch (cause) {
      if (sub.stopped) {
        previous.controller.abort(); // stopped meanwhile: halt() aborted only the new controller
        return;
      }
      sub.controller = previous.controller;
      this.fail(sub, cause);
      return;
    }
    previous.controller.abort();
    previous.observer?.unsubscribe();
    if (previous.iterator) this.dispose(sub, previous.iterator);
    sub.observer = null;
    sub.iterator = null;
    if (sub.stopped) {
      release(source);
      return;
    }
    sub.swapping = false;
    this.attach(sub, source);
  }

  /** Runs the procedure for `sub` under the current context, from its last tracked event. */
  private async open(sub: ActiveSubscription): Promise<unknown> {
    const { scope } = this;
    sub.input = withLastEventId(sub.baseInput, sub.lastEventId);
    const input = sub.input;
    attachGrantCarrier(sub.controller.signal, sub);
    const result: unknown = await callProcedure({
      router: scope.router,
      path: sub.path,
      type: 'subscription',
      ctx: scope.ctx,
      input,
      batchIndex: sub.batchIndex,
      signal: sub.controller.signal,
    });
    if (!isStream(result)) {
      release(result);
      throw new TRPCError({
        code: 'INTERNAL_SERVER_ERROR',
        message: `Subscription ${sub.path} did not return an observable or an AsyncGenerator`,
      });
    }
    return result;
  }

  private attach(sub: ActiveSubscription, source: unknown): void {
    const generation = ++sub.generation;
    if (isObservable(source)) this.observe(sub, source, generation);
    else void this.iterate(sub, (source as AsyncIterable<unknown>)[Symbol.asyncIterator](), generation);
  }

  private async iterate(sub: ActiveSubscription, iterator: AsyncIterator<unknown>, generation: number): Promise<void> {
    sub.iterator = iterator;
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (cause) {
        if (sub.stopped || sub.generation !== generation || sub.swapping) {
          if (!isAbortError(cause)) this.scope.errors.report(cause, 'subscription', sub.path, sub.input);
        } else {
          this.fail(sub, cause);
        }
        return;
      }
      if (sub.stopped || sub.generation !== generation) return;
      if (sub.swapping) continue; // the new source replays it
      if (step.done) {
        this.end(sub);
        return;
      }
      if (!this.emit(sub, step.value)) {
        this.dispose(sub, iterator);
        return;
      }
    }
  }

  private observe(sub: ActiveSubscription, observable: Observable<unknown, unknown>, generation: number): void {
    const current = () => !sub.stopped && !sub.swapping && sub.generation === generation;
    sub.observer = observable.subscribe({
      next: (value) => {
        if (current() && !this.emit(sub, value)) sub.observer?.unsubscribe();
      },
      error: (cause) => {
        if (current()) this.fail(sub, cause);
      },
      complete: () => {
        if (current()) this.end(sub);
      },
    });
    if (sub.stopped) sub.observer.unsubscribe();
  }

  /**
   * Sends one event; on a value that cannot be serialised, fails the subscription. An event
   * that is not deliverable (the session expired) is dropped without moving `lastEventId`, so
   * the re-run after the refresh replays it.
   */
  private emit(sub: ActiveSubscription, value: unknown): boolean {
    if (!this.deliverable() || (sub.lease !== null && !sub.lease.deliverable())) return true;
    const { frames } = this.scope;
    let frame;
    try {
      if (isTrackedEnvelope(value)) {
        const eventId = String(value[0]);
        frame = frames.event(sub.head, value[1], eventId);
        sub.lastEventId = eventId;
      } else {
        frame = frames.event(sub.head, value);
      }
    } catch (cause) {
      this.fail(sub, cause);
      return false;
    }
    this.scope.send(frame);
    return true;
  }

  /** Natural end: `stopped`. */
  private end(sub: ActiveSubscription): void {
    this.forget(sub);
    this.releaseGrant(sub);
    sub.stopped = true;
    this.scope.send(this.scope.frames.stopped(sub.head));
  }

  /** An error while streaming (or a refused re-authorisation): the error frame, then `stopped`. */
  private fail(sub: ActiveSubscription, cause: unknown): void {
    this.halt(sub);
    const { scope } = this;
    scope.send(scope.frames.error(sub.head, this.report(cause, sub)));
    scope.send(scope.frames.stopped(sub.head));
  }

  /** Reports a subscription's failure; the shape to send carries `lanyardReason` when it is a grant failure. */
  private report(cause: unknown, sub: ActiveSubscription): ReturnType<SubscriptionHost<TRouter>['errors']['report']> {
    const reason = grantReasonOf(cause);
    const { errors } = this.scope;
    if (reason === undefined) return errors.report(cause, 'subscription', sub.path, sub.input);
    return errors.reportWithReason(cause, 'subscription', sub.path, sub.input, reason);
  }

  /** Marks it stopped, frees its id, aborts its signal and releases its source. */
  private halt(sub: ActiveSubscription): void {
    if (sub.stopped) return;
    sub.stopped = true;
    this.forget(sub);
    this.releaseGrant(sub);
    sub.controller.abort();
    sub.observer?.unsubscribe();
    if (sub.iterator) this.dispose(sub, sub.iterator);
  }

  /** `sub` stopped: its grant's lease lets go. */
  private releaseGrant(sub: ActiveSubscription): void {
    if (sub.lease !== null) this.grants.release(sub);
  }

  private forget(sub: ActiveSubscription): void {
    if (this.active.get(sub.head.id) === sub) this.active.delete(sub.head.id);
  }

  private dispose(sub: ActiveSubscription, iterator: AsyncIterator<unknown>): void {
    const done = iterator.return?.();
    done?.catch((cause: unknown) => {
      if (!isAbortError(cause)) this.scope.errors.report(cause, 'subscription', sub.path, sub.input);
    });
  }
}

/** Lets go of a source nobody will read: an async iterator is returned; an observable was never subscribed. */
function release(source: unknown): void {
  if (typeof source === 'object' && source !== null && Symbol.asyncIterator in source) {
    void (source as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.()?.catch(() => undefined);
  }
}
