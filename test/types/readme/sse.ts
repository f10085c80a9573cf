// The README's example "WebSocket or SSE?", compiled by `npm run typecheck`.
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import type { WebSocketServer } from 'ws';
import type { Session } from './world.js';
import { auth, httpUrl, verifyJwt } from './world.js';

declare const wss: WebSocketServer;
// #region readme
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, retryLink, splitLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource'; // Node; in browsers use cookies with the native EventSource
import { bearerEventSourceOptions, createTokenSource, freshCredentialsRetry } from 'trpc-lanyard/client';
import type { AuthenticateOptions } from 'trpc-lanyard/server';
import { applyWSSHandler, createHttpAuth, sessionLifecycle } from 'trpc-lanyard/server';

// One authenticate for both transports.
const authenticate = async ({ headers, connectionParams }: AuthenticateOptions<Session, unknown>): Promise<Session> => {
  const bearer = typeof headers.authorization === 'string' ? headers.authorization.replace(/^Bearer /, '') : undefined;
  const claims = await verifyJwt(bearer ?? connectionParams?.token ?? '');
  return { userId: claims.sub, roles: ['reader'], issuedAt: claims.iat * 1000, expiresAt: claims.exp * 1000 };
};

const t = initTRPC.context<{ session: Session }>().create();
const procedure = t.procedure.use(sessionLifecycle); // SSE streams follow the session; expired calls get 401
const appRouter = t.router({
  me: procedure.query(({ ctx }) => ctx.session.userId),
  ticks: procedure.subscription(async function* ({ signal }) {
    for (let n = 0; !signal?.aborted; n++) yield n;
  }),
});

const wsHandler = applyWSSHandler({ wss, router: appRouter, authenticate, createContext: ({ session }) => ({ session: session! }) });
const httpAuth = createHttpAuth({ authenticate, handler: wsHandler }); // one registry: wsHandler.revoke reaches SSE too
createHTTPServer({ router: appRouter, createContext: httpAuth.createContext(({ session }) => ({ session })) }).listen(3001);

// Client: the token in a header (never in a URL), refreshed before a stream the server ended is reopened.
const tokens = createTokenSource({ fetchToken: () => auth.getToken() });
const trpc = createTRPCClient<typeof appRouter>({
  links: [
    retryLink(freshCredentialsRetry(tokens)),
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({ url: httpUrl, EventSource, eventSourceOptions: bearerEventSourceOptions(tokens) }),
      false: httpBatchLink({ url: httpUrl, headers: async () => ({ authorization: `Bearer ${await tokens.get()}` }) }),
    }),
  ],
});
// #endregion
void trpc;
