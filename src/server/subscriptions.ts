import type { AnyRouter } from '@trpc/server';
import { callTRPCProcedure, isTrackedEnvelope, TRPCError } from '@trpc/server';
import type { Observable, Unsubscribable } from '@trpc/server/observable';
import { isObservable } from '@trpc/server/observable';
import type { RequestId, RequestMessage } from '../protocol/messages.js';
import { prepareInput, isStream } from './calls.js';
import { isAbortError } from './errors.js';
import type { FrameHead } from './frames.js';
import type { CallScope } from './scope.js';

/** One live subscription of a connection. */
class ActiveSubscription {
  readonly controller = new AbortController();
  stopped = false;
  iterator: AsyncIterator<unknown> | null = null;
  observer: Unsubscribable | null = null;
  input: unknown = undefined;

  constructor(
    readonly head: FrameHead,
    readonly path: string,
  ) {}
}

/**
 * The live subscriptions of one connection, by request id: starts them, streams their
 * events as frames, and stops them (client `subscription.stop`, natural end, error, or the
 * connection closing). A stopped subscription's id is free again at once.
 */
export class SubscriptionRegistry<TRouter extends AnyRouter> {
  private readonly active = new Map<RequestId, ActiveSubscription>();

  constructor(private readonly scope: CallScope<TRouter>) {}

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
    const sub = new ActiveSubscription(head, path);
    this.active.set(message.id, sub);
    let result: unknown;
    try {
      sub.input = prepareInput(scope.router, message.params);
      result = await callTRPCProcedure({
        router: scope.router,
        path,
        getRawInput: () => Promise.resolve(sub.input),
        ctx: scope.ctx,
        type: 'subscription',
        signal: sub.controller.signal,
        batchIndex,
      });
      if (!isStream(result)) {
        throw new TRPCError({
          code: 'INTERNAL_SERVER_ERROR',
          message: `Subscription ${path} did not return an observable or an AsyncGenerator`,
        });
      }
    } catch (cause) {
      if (sub.stopped) {
        if (!isAbortError(cause)) scope.errors.report(cause, 'subscription', path, sub.input);
        return;
      }
      this.forget(sub);
      // A failure while setting up (context, middleware, input) gets only the error frame.
      scope.send(scope.frames.error(head, scope.errors.report(cause, 'subscription', path, sub.input)));
      return;
    }
    if (sub.stopped) {
      if (!isObservable(result)) this.dispose(sub, (result as AsyncIterable<unknown>)[Symbol.asyncIterator]());
      return;
    }
    scope.send(scope.frames.started(head));
    if (isObservable(result)) this.observe(sub, result);
    else await this.iterate(sub, (result as AsyncIterable<unknown>)[Symbol.asyncIterator]());
  }

  /** The client's `subscription.stop`: ends it and answers `stopped`. Unknown ids are ignored. */
  stop(id: RequestId): void {
    const sub = this.active.get(id);
    if (!sub) return;
    this.halt(sub);
    this.scope.send(this.scope.frames.stopped(sub.head));
  }

  /** The connection closed: ends every subscription without a word to the client. */
  stopAll(): void {
    for (const sub of this.active.values()) this.halt(sub);
  }

  private async iterate(sub: ActiveSubscription, iterator: AsyncIterator<unknown>): Promise<void> {
    sub.iterator = iterator;
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (cause) {
        if (sub.stopped) {
          if (!isAbortError(cause)) this.scope.errors.report(cause, 'subscription', sub.path, sub.input);
        } else {
          this.fail(sub, cause);
        }
        return;
      }
      if (sub.stopped) return;
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

  private observe(sub: ActiveSubscription, observable: Observable<unknown, unknown>): void {
    sub.observer = observable.subscribe({
      next: (value) => {
        if (!sub.stopped && !this.emit(sub, value)) sub.observer?.unsubscribe();
      },
      error: (cause) => {
        if (!sub.stopped) this.fail(sub, cause);
      },
      complete: () => {
        if (!sub.stopped) this.end(sub);
      },
    });
    if (sub.stopped) sub.observer.unsubscribe();
  }

  /** Sends one event; on a value that cannot be serialised, fails the subscription. */
  private emit(sub: ActiveSubscription, value: unknown): boolean {
    const { frames } = this.scope;
    let frame;
    try {
      frame = isTrackedEnvelope(value) ? frames.data(sub.head, value[1], String(value[0])) : frames.data(sub.head, value);
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
    sub.stopped = true;
    this.scope.send(this.scope.frames.stopped(sub.head));
  }

  /** An error while streaming: the error frame, then `stopped`, as stock tRPC does. */
  private fail(sub: ActiveSubscription, cause: unknown): void {
    this.halt(sub);
    const { scope } = this;
    scope.send(scope.frames.error(sub.head, scope.errors.report(cause, 'subscription', sub.path, sub.input)));
    scope.send(scope.frames.stopped(sub.head));
  }

  /** Marks it stopped, frees its id, aborts its signal and releases its source. */
  private halt(sub: ActiveSubscription): void {
    if (sub.stopped) return;
    sub.stopped = true;
    this.forget(sub);
    sub.controller.abort();
    sub.observer?.unsubscribe();
    if (sub.iterator) this.dispose(sub, sub.iterator);
  }

  private forget(sub: ActiveSubscription): void {
    if (this.active.get(sub.head.id) === sub) this.active.delete(sub.head.id);
  }

  private dispose(sub: ActiveSubscription, iterator: AsyncIterator<unknown>): void {
    sub.controller.abort();
    const done = iterator.return?.();
    done?.catch((cause: unknown) => {
      if (!isAbortError(cause)) this.scope.errors.report(cause, 'subscription', sub.path, sub.input);
    });
  }
}
