// The session type's inference, checked by `npm run typecheck`: an `expectTypeOf` that does not
// hold, or a `@ts-expect-error` with no error under it, fails the typecheck. Nothing here runs.
import type { IncomingMessage } from 'node:http';
import { initTRPC } from '@trpc/server';
import { expectTypeOf } from 'vitest';
import type { WebSocketServer } from 'ws';
import type { AuthenticateOptions, CreateWSSContextFnOptions, RouterSession, SessionBase } from 'trpc-lanyard/server';
import { applyWSSHandler, getWSConnectionHandler } from 'trpc-lanyard/server';

declare const wss: WebSocketServer;

interface Session {
  readonly userId: string;
  readonly role: 'admin' | 'member';
  readonly expiresAt: number | null;
}

const withSession = initTRPC.context<{ session: Session | null }>().create();
const sessionRouter = withSession.router({ me: withSession.procedure.query(({ ctx }) => ctx.session?.userId) });

const withoutSession = initTRPC.context<{ userId: string | null }>().create();
const plainRouter = withoutSession.router({ me: withoutSession.procedure.query(({ ctx }) => ctx.userId) });

expectTypeOf<RouterSession<typeof sessionRouter>>().toEqualTypeOf<Session>();
expectTypeOf<RouterSession<typeof plainRouter>>().toEqualTypeOf<SessionBase>();

// A router context with `session`: an unannotated `authenticate` and every consumer see `Session`.
const fromRouter = applyWSSHandler({
  wss,
  router: sessionRouter,
  authenticate: async ({ connectionParams, previous }) => {
    expectTypeOf(previous).toEqualTypeOf<Session | null>();
    return { userId: connectionParams?.['user'] ?? '', role: 'member' as const, expiresAt: null };
  },
  createContext: ({ session }) => {
    expectTypeOf(session).toEqualTypeOf<Session | null>();
    return { session };
  },
  sameAuthorization: (a, b) => a.role === b.role,
  revalidate: (session) => (session.role === 'admin' ? session : null),
});
fromRouter.revoke((session) => {
  expectTypeOf(session).toEqualTypeOf<Session>();
  return session.userId === 'u1';
});

applyWSSHandler({
  wss,
  router: sessionRouter,
  // @ts-expect-error -- the router's session has `userId` and `role`; this one has neither
  authenticate: async ({ connectionParams }) => ({ name: connectionParams?.['user'] ?? '', expiresAt: null }),
  createContext: ({ session }) => ({ session }),
});

// No `session` in the context: an annotated `authenticate` parameter lets its return decide.
const fromAuthenticate = applyWSSHandler({
  wss,
  router: plainRouter,
  authenticate: async ({ connectionParams }: AuthenticateOptions<Session>): Promise<Session> => ({
    userId: connectionParams?.['user'] ?? '',
    role: 'admin',
    expiresAt: null,
  }),
  createContext: ({ session }) => ({ userId: session?.userId ?? null }),
  // A consumer typed more loosely does not change the session type (NoInfer).
  sameAuthorization: (a: SessionBase, b: SessionBase) => a.expiresAt === b.expiresAt,
});
fromAuthenticate.revoke((session) => {
  expectTypeOf(session).toEqualTypeOf<Session>();
  return true;
});

// Neither: the session is SessionBase unless given explicitly.
const explicit = getWSConnectionHandler<typeof plainRouter, Session>({
  router: plainRouter,
  authenticate: ({ connectionParams }) => ({ userId: connectionParams?.['user'] ?? '', role: 'member', expiresAt: null }),
  createContext: ({ session }) => ({ userId: session?.userId ?? null }),
});
explicit.revoke((session) => {
  expectTypeOf(session).toEqualTypeOf<Session>();
  return true;
});

// Without `authenticate`, nothing changes for stock-style handlers.
const stockStyle = applyWSSHandler({
  wss,
  router: plainRouter,
  createContext: ({ info, req }: CreateWSSContextFnOptions) => {
    expectTypeOf(req).toEqualTypeOf<IncomingMessage>();
    return { userId: info.connectionParams?.['user'] ?? null };
  },
});
stockStyle.revoke((session) => {
  expectTypeOf(session).toEqualTypeOf<SessionBase>();
  return false;
});

// A session need not declare `expiresAt` ...
interface NoExpiry {
  readonly userId: string;
}
const withNoExpiry = initTRPC.context<{ session: NoExpiry | null }>().create();
const noExpiryRouter = withNoExpiry.router({ me: withNoExpiry.procedure.query(({ ctx }) => ctx.session?.userId) });
expectTypeOf<RouterSession<typeof noExpiryRouter>>().toEqualTypeOf<NoExpiry>();
applyWSSHandler({
  wss,
  router: noExpiryRouter,
  authenticate: async ({ connectionParams }) => ({ userId: connectionParams?.['user'] ?? '' }),
  createContext: ({ session }) => ({ session }),
}).revoke((session) => session.userId === 'u1');
getWSConnectionHandler<typeof plainRouter, NoExpiry>({ router: plainRouter });

// ... but one that does must give a number (or null), and a promise is not a session.
applyWSSHandler({
  wss,
  router: plainRouter,
  // @ts-expect-error -- expiresAt is milliseconds since the epoch, not a string
  authenticate: async (_opts: AuthenticateOptions<SessionBase>) => ({ userId: 'u1', expiresAt: 'tomorrow' }),
});
// @ts-expect-error -- a thenable is never a session: authenticate's result is awaited
export const notASession: SessionBase = Promise.resolve({ userId: 'u1' });
