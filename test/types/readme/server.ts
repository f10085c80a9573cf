// The README's example "Server" (Migrating from stock tRPC), compiled by `npm run typecheck` (tsc --strict).
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import { stockRouter as appRouter } from './world.js';
// #region readme
import { WebSocketServer } from 'ws';
import { applyWSSHandler } from 'trpc-lanyard/server';

const wss = new WebSocketServer({ port: 3001 });
const handler = applyWSSHandler({
  wss,
  router: appRouter,
  createContext: ({ info }) => ({ token: info.connectionParams?.token ?? null }),
  keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
  authTimeoutMs: 10_000,       // ours: connectionParams must arrive within 10 s (stock waits forever)
  maxPayloadBytes: 1_048_576,  // ours: larger frames close the socket with 4413
});

process.on('SIGTERM', () => {
  handler.broadcastReconnectNotification(); // clients move to another node without losing events
  handler.close();                          // ours: ends every connection with 1001, refuses new ones with 1001
  wss.close();                              // stop accepting sockets at all
});
// #endregion
