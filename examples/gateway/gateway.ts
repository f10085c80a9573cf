/**
 * The gateway process: a uWebSockets.js server that serves only the subscriptions, fed by Redis
 * through the broker. Clients authenticate with the API's access tokens (checked here, without
 * calling the API), refresh them in band, and resume from their last event id after a reconnect,
 * on this gateway or another one. `npm run example:gateway`.
 */
import { applyUWSHandler } from 'trpc-lanyard/uws';
import { TRPCError } from '@trpc/server';
import { connectBroker } from './broker.js';
import type { GatewayContext, GatewayRouter } from './routers.js';
import { createGatewayRouter } from './routers.js';
import type { TokenClaims } from './tokens.js';
import { verifyToken } from './tokens.js';
import { loadUWS } from './uws.js';

const port = Number(process.env['GATEWAY_PORT'] ?? 3003);
const uWS = loadUWS();
const { broker, close } = await connectBroker();

const app = uWS.App();
const handler = applyUWSHandler<GatewayRouter, TokenClaims>(app, '/*', {
  router: createGatewayRouter(broker),
  // At connect time and at every in-band refresh.
  authenticate: ({ connectionParams }) => {
    const claims = verifyToken(connectionParams?.['token']);
    if (!claims) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'a valid access token from the API is needed' });
    return claims; // { name, expiresAt }: the session ends then unless refreshed
  },
  createContext: ({ session }): GatewayContext => ({ user: session ? { name: session.name } : null }),
  refreshAheadMs: 10_000,
});

let listenSocket: unknown = null;
app.listen('127.0.0.1', port, (token: unknown) => {
  if (!token) {
    console.error(`gateway: port ${port} is taken`);
    process.exit(1);
  }
  listenSocket = token;
  console.log(`gateway listening on ws://127.0.0.1:${uWS.us_socket_local_port(token)}`);
});

function shutdown() {
  handler.close();
  if (listenSocket) uWS.us_listen_socket_close(listenSocket);
  void close().then(() => process.exit(0));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
