import type { Operation, OperationResultEnvelope, TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter, TRPCCombinedDataTransformer } from '@trpc/server';
import type { Observable, Observer, Unsubscribable } from '@trpc/server/observable';
import type { Call } from './call.js';
import { SubscriptionGrant } from '../grants/subscriptionGrant.js';
import type { GrantProvider } from '../grants/types.js';
import { ObservedCall } from './observedCall.js';
import type { RequestManager } from './requestManager.js';

type ClientError = TRPCClientError<AnyTRPCRouter>;
type Envelope = OperationResultEnvelope<unknown, ClientError>;

/** What `WsClient.request` takes: the same as tRPC's own `WsClient.request`. */
export interface WsRequestOptions {
  op: Pick<Operation, 'id' | 'type' | 'path' | 'input' | 'signal'>;
  transformer: TRPCCombinedDataTransformer;
  /** For a subscription: resume after this tracked event id. */
  lastEventId?: string;
  /** For a subscription: where its grant token comes from (PROTOCOL.md § 5.2); ignored by queries and mutations. */
  grant?: GrantProvider | undefined;
}

/** Where calls go: made once per client, shared by every call. */
export interface CallHost {
  readonly requests: RequestManager;
  /** Sends the registered `call` now, or queues it for the next socket. */
  readonly submit: (call: Call) => void;
}

/**
 * One call as tRPC's own `WsClient.request()` returns it: each subscriber is a new call with a
 * new wire id, handed to `submit`; it emits `{ result }` envelopes and errors with
 * `TRPCClientError`. Unsubscribing (or the op's `signal` aborting) stops the call and completes
 * the subscriber at once, as tRPC's own client does. Each subscriber costs one object, the
 * {@link ObservedCall}.
 */
export function callObservable(host: CallHost, opts: WsRequestOptions): Observable<Envelope, ClientError> {
  // `pipe`'s overloads cannot be spelt by a class without repeating them; the shape is tRPC's.
  return new CallObservable(host, opts) as unknown as Observable<Envelope, ClientError>;
}

class CallObservable {
  constructor(
    private readonly host: CallHost,
    private readonly opts: WsRequestOptions,
  ) {}

  public subscribe(observer: Partial<Observer<Envelope, ClientError>>): Unsubscribable {
    const { op, transformer, lastEventId, grant } = this.opts;
    const signal = op.signal ?? undefined;
    // An aborted op is never serialised: the observer completes at once.
    const input = signal?.aborted ? undefined : transformer.input.serialize(op.input);
    const call = new ObservedCall(this.host.requests, transformer, observer, op.type, op.path, input, lastEventId, signal);
    if (grant !== undefined && op.type === 'subscription') call.grant = new SubscriptionGrant(grant, op.input, transformer);
    call.start(this.host.submit);
    return call;
  }

  public pipe(...operations: Array<(source: unknown) => unknown>): unknown {
    return operations.reduce((source, operation) => operation(source), this as unknown);
  }
}
