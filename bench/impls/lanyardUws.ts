/**
 * trpc-lanyard on uWebSockets.js: `applyUWSHandler` from the built package (`trpc-lanyard/uws`,
 * `dist/`), with the same router and the same token check as `impls/lanyard.ts` on `ws`.
 */
import { applyUWSHandler } from 'trpc-lanyard/uws';
import { userForToken } from '../lib/router.js';
import type { AppRouter, BenchContext } from '../lib/router.js';
import type { BenchSession } from './lanyard.js';
import type { UWSServerImpl } from './types.js';

/** Every path: the bench's clients connect to `ws://127.0.0.1:<port>`. */
const PATTERN = '/*';

export const server: UWSServerImpl = {
  serve({ app, router, auth }) {
    if (!auth) {
      applyUWSHandler(app, PATTERN, { router, createContext: (): BenchContext => ({ user: null }) });
      return;
    }
    applyUWSHandler<AppRouter, BenchSession>(app, PATTERN, {
      router,
      authenticate: ({ connectionParams }) => ({ userId: userForToken(connectionParams?.['token']) }),
      createContext: ({ session }): BenchContext => ({ user: session?.userId ?? null }),
    });
  },
};
