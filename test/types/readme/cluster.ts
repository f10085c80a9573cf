// The README's example "Running several nodes", compiled by `npm run typecheck`.
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import type { WebSocketServer } from 'ws';
import { broker } from './brokerRedis.js';
import { appRouter, verifyJwt } from './world.js';

declare const wss: WebSocketServer;
// #region readme
import { createClusterControl } from 'trpc-lanyard/broker';
import { applyWSSHandler } from 'trpc-lanyard/server';

// Every node: the broker its streams use (Redis), and the keys a session can be addressed by.
const handler = applyWSSHandler({
  wss,
  router: appRouter,
  authenticate: async ({ connectionParams }) => {
    const claims = await verifyJwt(connectionParams?.token ?? '');
    // issuedAt: a revocation by key ends the sessions issued before it, not a later login.
    return { userId: claims.sub, roles: ['editor'], expiresAt: claims.exp * 1000, issuedAt: claims.iat * 1000 };
  },
  broker,
  sessionKeys: (session) => [`user:${session.userId}`, ...session.roles.map((role) => `role:${role}`)],
  revocationTtlMs: 12 * 60 * 60_000, // our longest session lifetime: 12 hours
});

// On any node: user 42's sessions on every node close with 4410, and stay refused everywhere.
const { affected, answered, waitedFor } = await handler.revoke({ key: 'user:42' }, { reason: 'password changed' });
console.log(`${affected} sessions closed; ${answered.length} of ${waitedFor.length} nodes answered`);

// From a process with no sockets: an admin API, a job, your identity provider's webhook.
const control = createClusterControl(broker);
await control.requestReauthentication({ key: 'role:editor' }); // the role changed: re-check its holders
await control.liftRevocation({ key: 'user:42' }); // forgive early
// #endregion
