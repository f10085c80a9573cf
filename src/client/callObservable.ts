import type { Operation, OperationResultEnvelope, TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter, TRPCCombinedDataTransformer } from '@trpc/server';
import type { Observable } from '@trpc/server/observable';
import { observable } from '@trpc/server/observable';
import type { Call } from './call.js';
import { createCallSink } from './callSink.js';
import type { RequestManager } from './requestManager.js';

type ClientError = TRPCClientError<AnyTRPCRouter>;

/** What `WsClient.request` takes: the same as tRPC's own `WsClient.request`. */
export interface WsRequestOptions {
  op: Pick<Operation, 'id' | 'type' | 'path' | 'input' | 'signal'>;
  transformer: TRPCCombinedDataTransformer;
  /** For a subscription: resume after this tracked event id. */
  lastEventId?: string;
}

/**
 * One call as tRPC's own `WsClient.request()` returns it: each subscriber is a new call with a
 * new wire id, handed to `submit`; it emits `{ result }` envelopes and errors with
 * `TRPCClientError`. Unsubscribing (or the op's `signal` aborting) stops the call and completes
 * the subscriber at once, as tRPC's own client does.
 */
export function callObservable(
  requests: RequestManager,
  submit: (call: Call) => void,
  { op, transformer, lastEventId }: WsRequestOptions,
): Observable<OperationResultEnvelope<unknown, ClientError>, ClientError> {
  return observable<OperationResultEnvelope<unknown, ClientError>, ClientError>((observer) => {
    const { signal } = op;
    if (signal?.aborted) {
      observer.complete();
      return;
    }
    const sink = createCallSink(observer, transformer);
    const call = requests.create(op.type, op.path, transformer.input.serialize(op.input), lastEventId, sink);
    submit(call);
    const onAbort = () => observer.complete();
    signal?.addEventListener('abort', onAbort, { once: true });
    return () => {
      signal?.removeEventListener('abort', onAbort);
      requests.cancel(call);
      observer.complete(); // a no-op when the call already ended
    };
  });
}
