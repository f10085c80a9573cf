// The README's example "Fastify", compiled by `npm run typecheck` (tsc --strict).
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import { TRPCError } from '@trpc/server';
import { appRouter, verifyJwt } from './world.js';
import type { AppRouter, Session } from './world.js';
// #region readme
import websocket from '@fastify/websocket';
import fastify from 'fastify';
import { fastifyTRPCPlugin } from 'trpc-lanyard/fastify';
import type { CreateFastifyContextOptions, FastifyTRPCPluginOptions } from 'trpc-lanyard/fastify';

function createContext({ req, session }: CreateFastifyContextOptions<Session>) {
  return { session, ip: req.ip }; // over HTTP session is null: authenticate those requests yourself
}

const server = fastify({ maxParamLength: 5000 });
await server.register(websocket); // first: useWSS needs it
await server.register(fastifyTRPCPlugin, {
  prefix: '/trpc',
  useWSS: true,
  trpcOptions: {
    router: appRouter,
    createContext,
    // ours: WebSocket connections only
    authenticate: async ({ connectionParams }) => {
      if (!connectionParams?.token) throw new TRPCError({ code: 'UNAUTHORIZED' });
      const claims = await verifyJwt(connectionParams.token);
      return { userId: claims.sub, roles: [], expiresAt: claims.exp * 1000 };
    },
    allowedOrigins: ['https://app.example.com'], // others: HTTP 403 at the upgrade
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
    onError({ path, error }) {
      console.error(`Error in tRPC handler on path '${path}':`, error);
    },
  } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
});
await server.listen({ port: 3000 });

// The handler's controls, by the prefix it serves:
const trpcSockets = server.trpcLanyard.get<Session>('/trpc');
trpcSockets?.revoke((session) => session.userId === 'u42'); // → count; the sockets close with 4410
// server.close() ends the sockets with 1001 (going away)
// #endregion
