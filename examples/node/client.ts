import { createTRPCClient } from '@trpc/client';
import { createWSClient, wsLink } from 'trpc-lanyard/client';
import WebSocket from 'ws';
import type { ExampleRouter } from './router.js';

const [name = 'guest', text = 'hello from the example client'] = process.argv.slice(2);
const port = Number(process.env['PORT'] ?? 3001);
/** How long to stay connected after posting (longer than the server's session shows an in-band refresh). */
const stayMs = Number(process.env['STAY_MS'] ?? 500);
const wsClient = createWSClient({
  url: `ws://localhost:${port}`,
  WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  connectionParams: async () => ({ name }),
});
const trpc = createTRPCClient<ExampleRouter>({ links: [wsLink({ client: wsClient })] });

const subscription = trpc.onMessage.subscribe(
  {},
  { onData: ({ data }) => console.log(`#${data.id} ${data.author}: ${data.text}`) },
);
const whoami = await trpc.whoami.query();
const expiresAt = wsClient.session?.expiresAt;
console.log('signed in as', whoami, expiresAt ? `until ${new Date(expiresAt).toISOString()}` : '');
await trpc.post.mutate({ text });
await new Promise((resolve) => setTimeout(resolve, stayMs));
subscription.unsubscribe();
const { socketsOpened, refreshes } = wsClient.stats;
console.log(`${socketsOpened} socket(s) opened, ${refreshes} in-band refresh(es)`);
await wsClient.close();
