import { createTRPCClient } from '@trpc/client';
import { createWSClient, wsLink } from 'trpc-lanyard/client';
import WebSocket from 'ws';
import type { ExampleRouter } from './router.js';

const [name = 'guest', text = 'hello from the example client'] = process.argv.slice(2);
const port = Number(process.env['PORT'] ?? 3001);
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
console.log('signed in as', await trpc.whoami.query());
await trpc.post.mutate({ text });
await new Promise((resolve) => setTimeout(resolve, 500));
subscription.unsubscribe();
await wsClient.close();
