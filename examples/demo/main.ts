/**
 * `npm start`: builds the web app, then serves it, the token API and the tRPC WebSocket on
 * http://localhost:3000 (PORT overrides; see server/config.ts for the other settings).
 */
import { buildWeb, defaultOutDir } from './build.js';
import { optionsFromEnv } from './server/config.js';
import { startDemoServer } from './server/app.js';

const startedAt = Date.now();
await buildWeb(defaultOutDir);
const options = optionsFromEnv(process.env, defaultOutDir);
const server = await startDemoServer(options);
console.log(`trpc-lanyard demo: ${server.url}  (built and started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
console.log(`access tokens live ${options.tokenTtlSeconds} s; the server asks for a fresh one ${options.refreshAheadMs / 1000} s before expiry. Ctrl-C stops.`);

let stopping = false;
const shutdown = () => {
  if (stopping) process.exit(1);
  stopping = true;
  void server.close().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
