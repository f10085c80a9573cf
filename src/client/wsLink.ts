import type { TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter, inferTRPCClientTypes } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import type { TransformerOptions } from './trpcInternals.js';
import { getTransformer } from './trpcInternals.js';
import { callSafely } from './userCallback.js';
import type { GrantProvider } from './grants/types.js';
import { grantProviderOf } from './grants/types.js';
import type { WsClient, WsConnectionState } from './wsClient.js';

/** Options of {@link wsLink}: the same as tRPC's own `wsLink`, plus `grant`. */
export type WebSocketLinkOptions<TRouter extends AnyTRPCRouter> = {
  /** The client made with `createWSClient`. */
  client: WsClient;
  /**
   * Where subscriptions get their grant tokens (PROTOCOL.md § 5.2). Called before each
   * subscription is sent; `undefined` means that subscription needs none. One subscription
   * overrides it with `context: { grant }` (a provider, or a fixed token string). Queries and
   * mutations never use it.
   * @default undefined (no subscription carries a grant)
   */
  grant?: GrantProvider;
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
        const grant = grantProviderOf(op.context['grant']) ?? opts.grant;
        const requestSubscription = client.request({ op, transformer, grant }).subscribe(observer);
        return () => {
          requestSubscription.unsubscribe();
          stateSubscription.unsubscribe();
        };
      });
    };
}
