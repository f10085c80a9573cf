/**
 * The servers on `ws`: stock tRPC and trpc-lanyard (`applyWSSHandler` on a `WebSocketServer`),
 * and the raw `ws` broadcaster.
 */
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { loadServerImpl } from '../impls/index.js';
import { STARTED, SUBSCRIBE } from '../lib/rawWire.js';
import { routerWithSource } from './source.js';
import type { BenchServer, BenchServerOptions } from './types.js';

export async function startWsServer(kind: 'stock' | 'lanyard' | 'ws', options: BenchServerOptions): Promise<BenchServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 2048 });
  // Attached at once: loading an implementation below may take longer than listening does.
  const listening = new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('error', options.fail);
  const publish = kind === 'ws' ? serveRawWs(wss) : await serveTrpc(kind, wss, options);
  await listening;
  const address = wss.address();
  if (typeof address !== 'object' || address === null) throw new Error('server: no address');
  return { port: address.port, publish, clients: () => wss.clients.size };
}

/** The raw `ws` baseline: one `JSON.stringify` per event, the same string sent to every subscriber. */
function serveRawWs(wss: WebSocketServer): BenchServer['publish'] {
  const subscribers = new Set<WebSocket>();
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      if (String(data) !== SUBSCRIBE) return;
      subscribers.add(socket);
      socket.send(STARTED);
    });
    socket.on('close', () => subscribers.delete(socket));
    socket.on('error', () => subscribers.delete(socket));
  });
  return (event) => {
    const text = JSON.stringify(event);
    for (const socket of subscribers) socket.send(text);
  };
}

async function serveTrpc(name: 'stock' | 'lanyard', wss: WebSocketServer, options: BenchServerOptions): Promise<BenchServer['publish']> {
  const impl = await loadServerImpl(name);
  const { router, publish } = await routerWithSource(options);
  impl.serve({ wss, router, auth: options.auth });
  return publish;
}
