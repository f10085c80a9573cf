// The README's example "uWebSockets.js", compiled by `npm run typecheck` (tsc --strict).
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import { stockRouter as appRouter } from './world.js';
// #region readme
import { App, us_listen_socket_close } from 'uWebSockets.js';
import type { us_listen_socket } from 'uWebSockets.js';
import { applyUWSHandler } from 'trpc-lanyard/uws';

const app = App();
const handler = applyUWSHandler(app, '/trpc', {
  router: appRouter,
  createContext: ({ req, info }) => {
    console.log(`connection from ${req.remoteAddress}`); // req: a copy of the upgrade request
    return { token: info.connectionParams?.token ?? null };
  },
  keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 }, // tRPC's PING/PONG, as with ws
  uws: { idleTimeoutSec: 120, sendPingsAutomatically: true },    // uWS's own (these are its defaults)
});

let listenSocket: us_listen_socket | false = false;
app.listen(3001, (socket) => {
  listenSocket = socket;
});

process.on('SIGTERM', () => {
  handler.broadcastReconnectNotification();
  handler.close();                                        // 1001 to every connection, and to any that still opens
  if (listenSocket) us_listen_socket_close(listenSocket); // stop accepting sockets
});
// #endregion
