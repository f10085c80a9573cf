import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCError } from '@trpc/server';
import { applyWSSHandler } from 'trpc-lanyard/server';
import { WebSocketServer } from 'ws';
import { exampleRouter } from './router.js';

const port = Number(process.env['PORT'] ?? 3001);
/** How long a session lasts; the server asks the client for fresh credentials 20 s before the end. */
const sessionMs = Number(process.env['SESSION_MS'] ?? 60_000);
const http = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`trpc-lanyard example server.\nConnect a tRPC client over WebSocket to ws://localhost:${listeningPort()}\nTry: npm run example:client\n`);
});
const wss = new WebSocketServer({ server: http });
const handler = applyWSSHandler({
  wss,
  router: exampleRouter,
  // At connect time and on every in-band refresh. A real app verifies a token here and checks
  // the user in its own store (see the README's Authentication and Security notes); this
  // example trusts the name the client sends.
  authenticate: ({ connectionParams, previous }) => {
    const name = connectionParams?.['name']?.trim() ?? '';
    if (!/^[\p{L}\p{N} _-]{1,32}$/u.test(name)) {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'send a name (1–32 letters, digits, spaces) in connectionParams' });
    }
    console.log(previous ? `refreshed ${name} (was ${previous.name})` : `signed in ${name}`);
    return { name, expiresAt: Date.now() + sessionMs };
  },
  createContext: ({ session }) => ({ session }),
  refreshAheadMs: 20_000,
  keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
});

http.listen(port, () => {
  const actual = listeningPort(); // PORT=0 picks a free one
  console.log(`trpc-lanyard example listening on ws://localhost:${actual} (http://localhost:${actual} says hello)`);
  console.log('In another terminal: npm run example:client -- Alice "hello there"');
});

function listeningPort(): number {
  return (http.address() as AddressInfo | null)?.port ?? port;
}

function shutdown() {
  handler.broadcastReconnectNotification();
  handler.close();
  wss.close();
  http.close(() => process.exit(0));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
