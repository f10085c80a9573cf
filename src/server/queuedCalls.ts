import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import type { ClientCallMessage } from '../protocol/messages.js';
import { withLastEventId } from './calls.js';
import type { CallScope } from './scope.js';

/** What a call that waited under an expired session gets when the refreshed session grants something else. */
export function sessionChangedWhileQueued(): TRPCError {
  return new TRPCError({
    code: 'UNAUTHORIZED',
    message: 'The session changed while this call waited for a refresh; it was not run. Send it again.',
  });
}

/**
 * Answers a call that waited in a connection's queue with `cause` instead of running it, as its
 * own error: shaped and reported to `onError` with its type, path and input (as stock tRPC
 * answers calls that waited for a failed `createContext`). A `subscription.stop` needs no answer.
 */
export function answerQueuedCall<TRouter extends AnyRouter>(scope: CallScope<TRouter>, message: ClientCallMessage, cause: unknown): void {
  const { frames, errors } = scope;
  switch (message.method) {
    case 'subscription.stop':
      return;
    case 'lanyard.authenticate':
    case 'lanyard.grant': {
      // Extension frames are never transformed.
      const shape = errors.report(cause, 'unknown', undefined, undefined, false);
      scope.send(frames.error(frames.head(message.id, undefined), shape));
      return;
    }
    case 'query':
    case 'mutation':
    case 'subscription': {
      const { path, input, lastEventId } = message.params;
      const shape = errors.report(cause, message.method, path, withLastEventId(input, lastEventId));
      scope.send(frames.error(frames.head(message.id, message.jsonrpc), shape));
      return;
    }
    default: {
      const unreachable: never = message;
      throw new Error(`unhandled method ${String(unreachable)}`);
    }
  }
}
