/**
 * Signs in at the API, subscribes to a room at the gateway, posts through the API and prints
 * what the gateway delivers: `npm run example:gateway-client -- Alice "hello"`. Subscriptions go
 * over the WebSocket to the gateway, everything else over HTTP to the API (tRPC's `splitLink`).
 */
import { createTRPCClient, httpBatchLink, splitLink } from '@trpc/client';
import { formatEventId, parseEventId } from 'trpc-lanyard/broker';
import { createTokenSource, createWSClient, wsLink } from 'trpc-lanyard/client';
import WebSocket from 'ws';
import type { AppRouter } from './routers.js';

const [name = 'guest', text = 'hello through the gateway'] = process.argv.slice(2);
const apiUrl = process.env['API_URL'] ?? 'http://127.0.0.1:3002';
const gatewayUrl = process.env['GATEWAY_URL'] ?? 'ws://127.0.0.1:3003';
const room = process.env['ROOM'] ?? 'lobby';
/** How long to stay subscribed after the post arrived (longer than TOKEN_MS shows in-band refreshes). */
const stayMs = Number(process.env['STAY_MS'] ?? 0);

const signInClient = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: apiUrl })] });
const expiries = new Map<string, number>();
// Each fetch signs in again: in a real app this would be a refresh-token call.
const tokens = createTokenSource({
  fetchToken: async () => {
    const { token, expiresAt } = await signInClient.signIn.mutate({ name });
    expiries.set(token, expiresAt);
    return token;
  },
  expiresAtMs: (token) => expiries.get(token) ?? null,
});

const wsClient = createWSClient({
  url: gatewayUrl,
  WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  connectionParams: async (request) => ({ token: await tokens.get(request) }),
});
const trpc = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: wsLink({ client: wsClient }),
      false: httpBatchLink({ url: apiUrl, headers: async () => ({ authorization: `Bearer ${await tokens.get()}` }) }),
    }),
  ],
});

// Post first, then subscribe from just before the post: the gateway replays it from Redis and
// goes on live (a subscription with no last event id would get live events only, from whenever
// its Redis subscription is in place).
const { id: postedId } = await trpc.post.mutate({ room, text });
const posted = parseEventId(postedId);
if (posted === null) throw new Error(`not a broker event id: ${postedId}`);
let unsubscribe = () => {};
const delivered = new Promise<void>((resolve, reject) => {
  const subscription = trpc.room.subscribe(
    { room, lastEventId: formatEventId(posted.epoch, posted.offset - 1) },
    {
      onData: ({ id, data }) => {
        console.log(`[${id}] ${data.author}: ${data.text}`);
        if (id === postedId) resolve();
      },
      onError: reject,
    },
  );
  unsubscribe = () => subscription.unsubscribe();
});
await delivered;
await new Promise((resolve) => setTimeout(resolve, stayMs));
unsubscribe();
const { socketsOpened, refreshes } = wsClient.stats;
console.log(`${socketsOpened} socket(s) opened to the gateway, ${refreshes} in-band refresh(es)`);
await wsClient.close();
