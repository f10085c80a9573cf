// The README's example "Sharing a token with HTTP links", compiled by `npm run typecheck` (tsc --strict).
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import type { AppRouter } from './world.js';
import { httpUrl, refreshAccessToken, url } from './world.js';
// #region readme
import { createTRPCClient, httpBatchLink, splitLink } from '@trpc/client';
import { createTokenSource, createWSClient, wsLink } from 'trpc-lanyard/client';

// Single-flight; never hands out a token it knows has expired.
const tokens = createTokenSource({ fetchToken: () => refreshAccessToken() });
const wsClient = createWSClient({ url, connectionParams: async (request) => ({ token: await tokens.get(request) }) });
tokens.subscribe(() => void wsClient.reauthenticate()); // a token refreshed anywhere reaches the socket in band

createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: wsLink({ client: wsClient }),
      false: httpBatchLink({ url: httpUrl, headers: async () => ({ authorization: `Bearer ${await tokens.get()}` }) }),
    }),
  ],
});
// #endregion
