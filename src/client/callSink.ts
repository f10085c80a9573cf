import type { OperationResultEnvelope } from '@trpc/client';
import { TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter, TRPCCombinedDataTransformer } from '@trpc/server';
import type { Observer } from '@trpc/server/observable';
import type { CallSink, ResponseMessage } from './call.js';
import { deserializeResponse } from './trpcInternals.js';

type ClientError = TRPCClientError<AnyTRPCRouter>;

/**
 * Adapts a `request()` observer to the request manager: each response goes through the
 * output transformer and comes out as a `{ result }` envelope, or as a `TRPCClientError`,
 * exactly as from tRPC's own client.
 */
export function createCallSink(
  observer: Observer<OperationResultEnvelope<unknown, ClientError>, ClientError>,
  transformer: TRPCCombinedDataTransformer,
): CallSink {
  return {
    next: (message: ResponseMessage) => {
      let decoded: ReturnType<typeof deserializeResponse>;
      try {
        decoded = deserializeResponse(message, transformer);
      } catch (cause) {
        observer.error(TRPCClientError.from(cause as Error));
        return;
      }
      if (decoded.ok) observer.next({ result: decoded.result });
      else observer.error(TRPCClientError.from(decoded.error));
    },
    error: (cause) => observer.error(TRPCClientError.from(cause)),
    complete: () => observer.complete(),
  };
}
