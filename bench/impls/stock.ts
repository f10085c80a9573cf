/** Stock tRPC v11: `@trpc/server/adapters/ws` + `@trpc/client`. */
import { createWSClient, wsLink } from '@trpc/client';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { userForToken } from '../lib/router.js';
import type { BenchContext } from '../lib/router.js';
import type { ClientImpl, ServerImpl } from './types.js';

export const server: ServerImpl = {
  serve({ wss, router, auth }) {
    applyWSSHandler({
      wss,
      router,
      createContext: auth
        ? ({ info }): BenchContext => ({ user: userForToken(info.connectionParams?.['token']) })
        : (): BenchContext => ({ user: null }),
    });
  },
};

export const client: ClientImpl = { createWSClient, wsLink };
