import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { isObservable } from '@trpc/server/observable';
import type { RequestMessage } from '../protocol/messages.js';
import { CallAbort, callProcedure } from './procedureCall.js';
import type { CallScope } from './scope.js';

/** Whether a procedure returned something a subscription can stream. */
export function isStream(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Symbol.asyncIterator in value || isObservable(value);
}

/** The client's input through the router's input transformer; a `PARSE_ERROR` when it refuses. */
export function deserializeInput(router: AnyRouter, raw: unknown): unknown {
  try {
    return router._def._config.transformer.input.deserialize(raw);
  } catch (cause) {
    // Stock's message is the transformer's own; the error names no field.
    throw new TRPCError({ code: 'PARSE_ERROR', cause });
  }
}

/**
 * `lastEventId` merged into the input as stock tRPC does: object input gets it as a property;
 * no input becomes `{ lastEventId }`; primitive input is left as it is.
 */
export function withLastEventId(input: unknown, lastEventId: string | undefined): unknown {
  if (lastEventId === undefined) return input;
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) return { ...input, lastEventId };
  return input ?? { lastEventId };
}

/** Runs a query or mutation and answers it with one data or error frame. */
export async function runCall<TRouter extends AnyRouter>(
  scope: CallScope<TRouter>,
  message: RequestMessage,
  batchIndex: number,
): Promise<void> {
  const { path } = message.params;
  const type = message.method;
  const head = scope.frames.head(message.id, message.jsonrpc);
  let input: unknown = message.params.input;
  const abort = new CallAbort();
  scope.inFlightCalls.add(abort);
  try {
    input = withLastEventId(deserializeInput(scope.router, message.params.input), message.params.lastEventId);
    const result: unknown = await callProcedure({ router: scope.router, path, type, ctx: scope.ctx, input, batchIndex, signal: abort });
    if (isStream(result)) {
      throw new TRPCError({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: `Cannot return an async iterable or observable from a ${type} procedure with WebSockets`,
      });
    }
    if (scope.isOpen) scope.send(scope.frames.data(head, result));
  } catch (cause) {
    const shape = scope.errors.report(cause, type, path, input);
    scope.send(scope.frames.error(head, shape));
  } finally {
    scope.inFlightCalls.delete(abort);
  }
}
