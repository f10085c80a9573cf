/**
 * trpc-lanyard: the same entry points, from the built package (`dist/`), as users get it. Stock
 * is measured from its published `dist/` too; running our sources through tsx instead would
 * charge us for esbuild's `__name` helper on every closure. `npm run bench` builds first.
 *
 * With auth, the token is checked in `authenticate` (the auth lifecycle's hook, which makes the
 * server send `lanyard.session` to our client) and `createContext` reads the session.
 */
import { createWSClient, wsLink } from 'trpc-lanyard/client';
import { applyWSSHandler } from 'trpc-lanyard/server';
import { userForToken } from '../lib/router.js';
import type { AppRouter, BenchContext } from '../lib/router.js';
import type { ClientImpl, ServerImpl } from './types.js';

/** What `authenticate` returns with auth on (also used by `impls/lanyardUws.ts`). */
export interface BenchSession {
  userId: string;
}

export const server: ServerImpl = {
  serve({ wss, router, auth }) {
    if (!auth) {
      applyWSSHandler({ wss, router, createContext: (): BenchContext => ({ user: null }) });
      return;
    }
    applyWSSHandler<AppRouter, BenchSession>({
      wss,
      router,
      authenticate: ({ connectionParams }) => ({ userId: userForToken(connectionParams?.['token']) }),
      createContext: ({ session }): BenchContext => ({ user: session?.userId ?? null }),
    });
  },
};

export const client: ClientImpl = { createWSClient, wsLink };
