import { createServer } from 'node:http';
import { applyWSSHandler } from 'trpc-lanyard/server';
import { WebSocketServer } from 'ws';
import { exampleRouter } from './router.js';

const port = Number(process.env['PORT'] ?? 3001);
const http = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`trpc-lanyard example server.\nConnect a tRPC client over WebSocket to ws://localhost:${port}\nTry: npm run example:client\n`);
});
const wss = new WebSocketServer({ server: http });
const handler = applyWSSHandler({
  wss,
  router: exampleRouter,
  createContext: ({ info }) => ({ name: info.connectionParams?.['name'] ?? null }),
  keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
});

http.listen(port, () => {
  console.log(`trpc-lanyard example listening on ws://localhost:${port} (http://localhost:${port} says hello)`);
  console.log('In another terminal: npm run example:client -- Alice "hello there"');
});

function shutdown() {
  handler.broadcastReconnectNotification();
  handler.close();
  wss.close();
  http.close(() => process.exit(0));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
