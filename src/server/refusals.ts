import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import type { RequestMessage } from '../protocol/messages.js';
import type { CallScope } from './scope.js';

/**
 * Every call of a batch over `maxBatchSize` gets `BAD_REQUEST`; nothing in it runs, as in stock
 * tRPC. The elements are not validated, only their `id` read (one error, one `onError`, for the
 * whole frame), and answering stops once the connection is closing.
 */
export function refuseBatch<TRouter extends AnyRouter>(scope: CallScope<TRouter>, items: readonly unknown[]): void {
  const error = new TRPCError({ code: 'BAD_REQUEST', message: 'Batch call exceeds maximum size' });
  const shape = scope.errors.report(error, 'unknown', undefined, undefined);
  let answered = false;
  for (let index = 0; index < items.length && scope.isOpen; index++) {
    const raw = items[index];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) continue;
    const { id, jsonrpc, method } = raw as Record<string, unknown>;
    if (method === 'subscription.stop' || (typeof id !== 'string' && typeof id !== 'number')) continue;
    scope.send(scope.frames.error(scope.frames.head(id, jsonrpc === '2.0' ? '2.0' : undefined), shape));
    answered = true;
  }
  if (!answered) scope.send(scope.frames.error(null, shape));
}

/** A call over a per-connection limit gets `TOO_MANY_REQUESTS` naming the limit; nothing runs. */
export function refuseOverLimit<TRouter extends AnyRouter>(scope: CallScope<TRouter>, message: RequestMessage, what: string): void {
  const error = new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Too many ${what} on this connection` });
  const shape = scope.errors.report(error, message.method, message.params.path, undefined);
  scope.send(scope.frames.error(scope.frames.head(message.id, message.jsonrpc), shape));
}
