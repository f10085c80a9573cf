/**
 * The API process: tRPC over plain HTTP (tRPC's standalone adapter). Signs users in and
 * publishes their posts to Redis; it serves no WebSocket. `npm run example:gateway-api`.
 */
import type { AddressInfo } from 'node:net';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { connectBroker } from './broker.js';
import type { GatewayContext } from './routers.js';
import { createApiRouter } from './routers.js';
import { verifyToken } from './tokens.js';

const port = Number(process.env['API_PORT'] ?? 3002);
const { broker, close } = await connectBroker();

const server = createHTTPServer({
  router: createApiRouter(broker),
  createContext: ({ req }): GatewayContext => {
    const header = req.headers.authorization ?? '';
    const claims = header.startsWith('Bearer ') ? verifyToken(header.slice(7)) : null;
    return { user: claims ? { name: claims.name } : null };
  },
});
server.listen(port, '127.0.0.1', () => {
  console.log(`api listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

function shutdown() {
  server.close(() => void close().then(() => process.exit(0)));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
