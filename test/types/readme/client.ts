// The README's example "Client" (Migrating from stock tRPC), compiled by `npm run typecheck` (tsc --strict).
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
/* eslint-disable @typescript-eslint/no-unused-vars */
import type { AppRouter } from './world.js';
import { getToken } from './world.js';
// #region readme
import { createTRPCClient } from '@trpc/client';
import { createWSClient, wsLink } from 'trpc-lanyard/client';

const wsClient = createWSClient({
  url: 'wss://api.example.com/trpc',
  connectionParams: async () => ({ token: await getToken() }), // evaluated for every new socket
});
const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient })] });
// #endregion
