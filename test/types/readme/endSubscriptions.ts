// The README's example "Ending one subscription", compiled by `npm run typecheck`.
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import type { WebSocketServer } from 'ws';
import { createWSClient, wsLink } from 'trpc-lanyard/client';
import { broker } from './brokerRedis.js';
import type { AppRouter } from './world.js';
import { appRouter, url, verifyJwt } from './world.js';

declare const wss: WebSocketServer;
// #region readme
import { createTRPCClient, retryLink } from '@trpc/client';
import { isSubscriptionEndedError } from 'trpc-lanyard';
import { applyWSSHandler } from 'trpc-lanyard/server';

const handler = applyWSSHandler({
  wss,
  router: appRouter,
  authenticate: async ({ connectionParams }) => {
    const claims = await verifyJwt(connectionParams?.token ?? '');
    return { userId: claims.sub, roles: ['editor'], expiresAt: claims.exp * 1000 };
  },
  broker, // for the { key, path, input } form on every node
  sessionKeys: (session) => [`user:${session.userId}`],
});

// This node: user 42 loses access to document 7. Their socket and other subscriptions go on.
const ended = handler.endSubscriptions(
  ({ session, path, input }) => session?.userId === '42' && path === 'doc.watch' && (input as { docId?: string }).docId === '7',
  { code: 'FORBIDDEN', reason: 'your access to document 7 was withdrawn' },
); // → how many ended

// Every node, matched as data: a session key, a path, and a pattern the input must contain.
await handler.endSubscriptions({ key: 'user:42', path: 'doc.watch', input: { docId: '7' } });
// Document 7 was deleted: everybody's subscriptions to it, on every node.
const { affected } = await handler.endSubscriptions({ path: 'doc.watch', input: { docId: '7' } }, { code: 'NOT_FOUND', reason: 'deleted' });

// Client: neither tRPC's client nor ours subscribes again by itself. With retryLink, say so:
const trpc = createTRPCClient<AppRouter>({
  links: [
    retryLink({ retry: ({ error, attempts }) => !isSubscriptionEndedError(error) && attempts < 5 }),
    wsLink({ client: createWSClient({ url }) }),
  ],
});
// #endregion
void ended;
void affected;
void trpc;
