/**
 * The ONLY file of the client that imports tRPC's unstable internals
 * (`@trpc/client/unstable-internals`, `@trpc/server/unstable-core-do-not-import`).
 * When tRPC moves them, this is the file to fix.
 */
import type { TRPCCombinedDataTransformer } from '@trpc/server';
import type { TRPCResponseMessage } from '@trpc/server/rpc';
import { transformResult } from '@trpc/server/unstable-core-do-not-import';
import type { ResponseMessage } from './calls/call.js';

export { getTransformer } from '@trpc/client/unstable-internals';
export type { TransformerOptions, TRPCConnectionState } from '@trpc/client/unstable-internals';

/**
 * Runs a response through the output transformer and checks its shape, exactly as tRPC's
 * own links do (`transformResult`). Throws when the transformed response is not a valid tRPC
 * response.
 *
 * A result whose `result` is an object is built here with the language's own spread, the same
 * object `transformResult` builds with its `_objectSpread2` helper (own enumerable keys, in
 * order, as data properties) at a fraction of the cost; everything else — errors, malformed
 * results, a transformer that throws — goes through `transformResult` itself, so it fails the
 * way tRPC's links fail.
 */
export function deserializeResponse(message: ResponseMessage, transformer: TRPCCombinedDataTransformer): Transformed {
  const result = 'error' in message ? undefined : (message as { result?: unknown }).result;
  if (typeof result === 'object' && result !== null && !Array.isArray(result)) {
    const { type } = result as { type?: unknown };
    if (type && type !== 'data') return { ok: true as const, result: { ...result } as TransformedResult };
    let data: unknown;
    try {
      data = transformer.output.deserialize((result as { data?: unknown }).data);
    } catch {
      return transformResult(message as TRPCResponseMessage, transformer.output); // throws as tRPC's links do
    }
    return { ok: true as const, result: { ...result, type: 'data' as const, data } as TransformedResult };
  }
  return transformResult(message as TRPCResponseMessage, transformer.output);
}

/** What `transformResult` returns. */
type Transformed = ReturnType<typeof transformResult>;
type TransformedResult = Extract<Transformed, { ok: true }>['result'];
