// The README's example of `authenticate` (Authentication), compiled by `npm run typecheck` (tsc --strict).
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import type { WebSocketServer } from 'ws';
import { appRouter, db, sameRoles, verifyJwt } from './world.js';

declare const wss: WebSocketServer;
// #region readme
import { TRPCError } from '@trpc/server';
import { applyWSSHandler } from 'trpc-lanyard/server';

const handler = applyWSSHandler({
  wss,
  router: appRouter, // initTRPC.context<{ session: Session | null }>(): the session's type
  // Connect time and on every in-band refresh. Throw UNAUTHORIZED or FORBIDDEN to refuse.
  authenticate: async ({ connectionParams, headers }) => {
    const header = headers.authorization; // string | string[] | undefined
    const token = connectionParams?.token ?? (typeof header === 'string' ? header.replace(/^Bearer /, '') : undefined);
    if (!token) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'no token' });
    const claims = await verifyJwt(token); // throws TRPCError({ code: 'UNAUTHORIZED' }) when invalid or expired
    // Check the grant in your own store every time: a refresh may present an old but unexpired token.
    const user = await db.user(claims.sub);
    if (!user || claims.iat < user.tokensValidAfter) throw new TRPCError({ code: 'FORBIDDEN', message: 'revoked' });
    return { userId: user.id, roles: user.roles, expiresAt: claims.exp * 1000 };
  },
  createContext: ({ session }) => ({ session }), // runs again after every refresh
  allowedOrigins: ['https://app.example.com'],
  authTimeoutMs: 10_000,   // no accepted credentials by then: close 4408
  refreshAheadMs: 30_000,  // ask for fresh credentials this long before expiresAt
  expiryGraceMs: 5_000,    // after expiresAt calls wait; after the grace: close 4419
  sameAuthorization: (a, b) => a.userId === b.userId && sameRoles(a.roles, b.roles),
  revalidate: async (session) => ((await db.isRevoked(session)) ? null : session),
  revalidateIntervalMs: 60_000,
});

handler.revoke((session) => session.userId === 'u42', { reason: 'password changed' }); // → count
handler.requestReauthentication((session) => session.userId === 'u42');             // after a role change
// #endregion
