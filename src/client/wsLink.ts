import type { TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter, inferTRPCClientTypes } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import type { TransformerOptions } from './trpcInternals.js';
import { getTransformer } from './trpcInternals.js';
import { callSafely } from './userCallback.js';
import type { WsClient, WsConnectionState } from './wsClient.js';

/** Options of {@link wsLink}: the same as tRPC's own `wsLink`. */
export type WebSocketLinkOptions<TRouter extends AnyTRPCRouter> = {
  /** The client made with `createWSClient`. */
  client: WsClient;
} & TransformerOptions<inferTRPCClientTypes<TRouter>>;

/**
 * The terminating link that sends calls over {@link WsClient}. A subscription also receives
 * the client's connection state, as with tRPC's own `wsLink`.
 */
export function wsLink<TRouter extends AnyTRPCRouter>(opts: WebSocketLinkOptions<TRouter>): TRPCLink<TRouter> {
  const { client } = opts;
  const transformer = getTransformer(opts.transformer);
  return () =>
    ({ op }) => {
      // A query or mutation is the client's call itself: no observable around it, nothing per call but the call.
      if (op.type !== 'subscription') return client.request({ op, transformer });
      return observable((observer) => {
        // The current state is emitted synchronously inside `subscribe`: a throwing
        // `onConnectionStateChange` must not keep the request below from being sent.
        const emitState = (result: WsConnectionState) => observer.next({ result, context: op.context });
        const stateSubscription = client.connectionState.subscribe({ next: (result) => callSafely(emitState, result) });
        const requestSubscription = client.request({ op, transformer }).subscribe(observer);
        return () => {
          requestSubscription.unsubscribe();
          stateSubscription.unsubscribe();
        };
      });
    };
}
