import type { OperationResultEnvelope } from '@trpc/client';
import { TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter, TRPCCombinedDataTransformer } from '@trpc/server';
import type { Observer, Unsubscribable } from '@trpc/server/observable';
import type { ProcedureType } from '../../protocol/index.js';
import type { Call, ResponseMessage, Route } from './call.js';
import type { SubscriptionGrant } from '../grants/subscriptionGrant.js';
import type { RequestManager } from './requestManager.js';
import { deserializeResponse } from '../trpcInternals.js';

type ClientError = TRPCClientError<AnyTRPCRouter>;
type Envelope = OperationResultEnvelope<unknown, ClientError>;

/** The options of `addEventListener` for the op's `signal`, shared by every call. */
const ONCE: AddEventListenerOptions = { once: true };

/**
 * One subscriber of `request()`, in ONE object: the request manager's record ({@link Call}),
 * the sink its answers go to, the `abort` listener of the op's signal (`handleEvent`), and the
 * subscription handed back to the subscriber. A call is a round trip's largest cost of our own
 * after the socket; tRPC's `observable()` would add a dozen closures and objects to each.
 *
 * It behaves as tRPC's `observable()` does around our subscribe function: nothing reaches the
 * observer after `error` or `complete`; either one, and `unsubscribe()`, stop the call (a
 * subscription is stopped on the server) and complete the observer if it has not ended; what
 * the observer throws while `subscribe()` runs is rethrown from `subscribe()`, later throws go
 * to whoever delivered the notification (the request manager rethrows them on a fresh task).
 *
 * Once it ended it drops its observer: a finished call can outlive its last use (the garbage
 * collector promotes records a young call still points to) and must not keep a whole chain of
 * tRPC observers alive with it.
 */
export class ObservedCall implements Call, Unsubscribable {
  public readonly method: ProcedureType;
  public readonly path: string;
  public readonly input: unknown;
  public lastEventId: string | undefined;
  public primary: Route | null = null;
  public successor: Route | null = null;
  public overlap: Set<string> | null = null;
  public started = false;
  public ended = false;
  public grant: SubscriptionGrant | null = null;

  private observer: Partial<Observer<Envelope, ClientError>> | null;
  private signal: AbortSignal | undefined;
  /** No notification reaches the observer any more. */
  private done = false;
  private unsubscribed = false;
  /** While `subscribe()` runs: what the observer throws is kept and rethrown from it. */
  private subscribing = true;
  private thrown: { cause: unknown } | null = null;

  constructor(
    private readonly requests: RequestManager,
    private readonly transformer: TRPCCombinedDataTransformer,
    observer: Partial<Observer<Envelope, ClientError>>,
    method: ProcedureType,
    path: string,
    input: unknown,
    lastEventId: string | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.observer = observer;
    this.method = method;
    this.path = path;
    this.input = input;
    this.lastEventId = lastEventId;
    this.signal = signal;
  }

  /**
   * Registers and sends the call (or completes the observer at once when the signal already
   * aborted); the end of `subscribe()`. Rethrows what the observer threw meanwhile.
   */
  public start(submit: (call: Call) => void): void {
    const { signal } = this;
    if (signal?.aborted) {
      this.settle(null);
    } else {
      this.requests.register(this);
      submit(this);
      if (signal !== undefined && !this.unsubscribed) signal.addEventListener('abort', this, ONCE);
    }
    this.subscribing = false;
    const { thrown } = this;
    if (thrown !== null) {
      this.thrown = null;
      throw thrown.cause;
    }
  }

  public onResponse(message: ResponseMessage): void {
    const { observer } = this;
    if (this.done || observer === null) return;
    let decoded: ReturnType<typeof deserializeResponse>;
    try {
      decoded = deserializeResponse(message, this.transformer);
    } catch (cause) {
      this.settle(TRPCClientError.from(cause as Error));
      return;
    }
    if (decoded.ok) observer.next?.({ result: decoded.result });
    else this.settle(TRPCClientError.from(decoded.error));
  }

  public onFailure(cause: Error): void {
    this.settle(TRPCClientError.from(cause));
  }

  public onEnd(): void {
    this.settle(null);
  }

  /** The subscriber went away: the call stops (on the server too), the observer completes. */
  public unsubscribe(): void {
    if (this.unsubscribed) return;
    this.unsubscribed = true;
    this.signal?.removeEventListener('abort', this);
    this.signal = undefined;
    this.requests.cancel(this);
    try {
      this.settle(null); // a no-op when the call already ended
    } finally {
      this.observer = null;
    }
  }

  /** The op's signal aborted: the observer completes, the call stops. */
  public handleEvent(): void {
    this.settle(null);
  }

  /** Tells the observer `error` (or completion, for `null`) unless it has ended, then unsubscribes. */
  private settle(error: ClientError | null): void {
    if (this.done) return;
    this.done = true;
    const { observer } = this;
    try {
      if (error !== null) observer?.error?.(error);
      else observer?.complete?.();
    } catch (cause) {
      if (!this.subscribing) throw cause;
      this.thrown ??= { cause };
    } finally {
      this.unsubscribe();
    }
  }
}
