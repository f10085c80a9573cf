/**
 * `npm start`: serves the web app, the token API and the tRPC WebSocket on
 * http://localhost:3000, listening on 127.0.0.1 only (PORT and HOST override; see
 * server/config.ts for the other settings), then builds the app into what it serves.
 */
import { buildWeb, defaultOutDir } from './build.js';
import type { DemoOptions } from './server/config.js';
import { grantDefaults, optionsFromEnv } from './server/config.js';
import type { DemoServer } from './server/app.js';
import { startDemoServer } from './server/app.js';
import { listenErrorMessage } from './server/listen.js';

/** Ends the process with one line a user can act on: a wrong setting is not a crash. */
function fail(message: string): never {
  console.error(`trpc-lanyard demo: ${message}`);
  process.exit(1);
}

const startedAt = Date.now();
let options: DemoOptions;
try {
  options = optionsFromEnv(process.env, defaultOutDir);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
// Listen before building: a taken port is reported at once, not after the build.
let server: DemoServer;
try {
  server = await startDemoServer(options);
} catch (error) {
  fail(listenErrorMessage(error, options.host, options.port) ?? `could not listen on ${options.host}:${options.port}: ${String(error)}`);
}
await buildWeb(defaultOutDir);
console.log(`trpc-lanyard demo: ${server.url}  (started and built in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; listening on ${server.host})`);
console.log(`access tokens live ${options.tokenTtlSeconds} s; the server asks for a fresh one ${options.refreshAheadMs / 1000} s before expiry. Ctrl-C stops.`);
const grants = { ...grantDefaults, ...options };
console.log(`document grants live ${grants.grantTtlSeconds} s; the server asks for a fresh one ${grants.grantRefreshAheadMs / 1000} s before expiry.`);

let stopping = false;
const shutdown = () => {
  if (stopping) process.exit(1);
  stopping = true;
  void server.close().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
