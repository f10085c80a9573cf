import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import type { RequestMessage } from '../protocol/messages.js';
import { checkClientCall } from '../protocol/validate.js';
import type { CallScope } from './scope.js';

/** Every call of a batch over `maxBatchSize` gets `BAD_REQUEST`; nothing in it runs. */
export function refuseBatch<TRouter extends AnyRouter>(scope: CallScope<TRouter>, items: readonly unknown[]): void {
  const error = new TRPCError({ code: 'BAD_REQUEST', message: 'Batch call exceeds maximum size' });
  const shape = scope.errors.report(error, 'unknown', undefined, undefined);
  let answered = false;
  for (const raw of items) {
    const checked = checkClientCall(raw);
    if (checked.ok && checked.message.method === 'subscription.stop') continue;
    const id = checked.ok ? checked.message.id : checked.id;
    if (id === null) continue;
    const jsonrpc = checked.ok ? (checked.message as { jsonrpc?: '2.0' }).jsonrpc : checked.jsonrpc;
    scope.send(scope.frames.error(scope.frames.head(id, jsonrpc), shape));
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
