/**
 * The ONLY file of the client that imports tRPC's unstable internals
 * (`@trpc/client/unstable-internals`, `@trpc/server/unstable-core-do-not-import`).
 * When tRPC moves them, this is the file to fix.
 */
import type { TRPCCombinedDataTransformer } from '@trpc/server';
import type { TRPCResponseMessage } from '@trpc/server/rpc';
import { transformResult } from '@trpc/server/unstable-core-do-not-import';
import type { ResponseMessage } from './call.js';

export { getTransformer } from '@trpc/client/unstable-internals';
export type { TransformerOptions, TRPCConnectionState } from '@trpc/client/unstable-internals';

/**
 * Runs a response through the output transformer and checks its shape, exactly as tRPC's
 * own links do. Throws when the transformed response is not a valid tRPC response.
 */
export function deserializeResponse(message: ResponseMessage, transformer: TRPCCombinedDataTransformer) {
  return transformResult(message as TRPCResponseMessage, transformer.output);
}
