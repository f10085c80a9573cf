/**
 * One node of `npm run start:cluster` (started by cluster.ts, not by hand): the demo server with
 * its rooms and users in Redis, so the other node can take over its clients. Settings come from
 * the launcher: NODE_NAME, PORT, CLUSTER_PORTS, REDIS_URL, DEMO_REDIS_PREFIX, DEMO_JWT_SECRET,
 * DEMO_WEB_DIR (and the demo's own, see server/config.ts).
 */
import { createClient } from 'redis';
import { createRedisBroker } from 'trpc-lanyard/broker';
import { defaultOutDir } from './build.js';
import { startDemoServer } from './server/app.js';
import { optionsFromEnv } from './server/config.js';
import { RedisUserStore } from './server/redisUsers.js';

const name = process.env['NODE_NAME'] ?? 'A';
const say = (line: string) => console.log(`[node ${name}] ${line}`);
const fail = (line: string): never => {
  console.error(`[node ${name}] ${line}`);
  process.exit(1);
};

const redisUrl = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';
const prefix = process.env['DEMO_REDIS_PREFIX'] || 'lanyard-demo';
if (!process.env['DEMO_JWT_SECRET']) fail('DEMO_JWT_SECRET is not set: start the cluster with npm run start:cluster');
const ports = (process.env['CLUSTER_PORTS'] ?? '').split(',').filter(Boolean).map(Number);
const options = optionsFromEnv(process.env, process.env['DEMO_WEB_DIR'] || defaultOutDir);

const redis = createClient({ url: redisUrl });
let lastRedisError = 0;
redis.on('error', (error: unknown) => {
  // node-redis reconnects by itself; say so at most every 5 s.
  if (Date.now() - lastRedisError > 5_000) say(`Redis: ${String(error)} (reconnecting)`);
  lastRedisError = Date.now();
});
await redis.connect().catch((error: unknown) => fail(`no Redis at ${redisUrl}: ${String(error)}`));
const broker = createRedisBroker({ client: redis, prefix });
const server = await startDemoServer(options, {
  name,
  broker,
  users: new RedisUserStore(redis, `${prefix}:demo`),
  ports,
  // Abrupt on purpose: no close frame, no broker close, nothing flushed, as a crash would.
  kill: () => process.kill(process.pid, 'SIGKILL'),
}).catch((error: unknown) => fail(`could not listen on ${options.host}:${options.port}: ${String(error)}`));
say(`${server.url} (pid ${process.pid})`);

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void server
    .close()
    .then(() => broker.close())
    .then(() => redis.quit())
    .finally(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
// The launcher went away (even killed): don't outlive it.
process.on('disconnect', shutdown);
