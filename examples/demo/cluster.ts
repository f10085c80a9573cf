/**
 * `npm run start:cluster`: two demo nodes (child processes, ports 3000 and 3001 on 127.0.0.1) on
 * one Redis, sharing rooms (the Redis broker), users and the token key. "Kill this node" on the
 * page makes a node exit abruptly; the client moves to the other one and its rooms resume there.
 * This launcher restarts a killed node after DEMO_RESTART_DELAY_MS so the demo can be repeated.
 * Ctrl-C stops both. Settings: REDIS_URL (redis://127.0.0.1:6379), CLUSTER_PORTS (3000,3001),
 * HOST, DEMO_REDIS_PREFIX (lanyard-demo), DEMO_RESTART_DELAY_MS (3000), DEMO_WEB_DIR, and the
 * demo's own (server/config.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { buildWeb, defaultOutDir } from './build.js';

const fail = (line: string): never => {
  console.error(`trpc-lanyard cluster demo: ${line}`);
  process.exit(1);
};

const redisUrl = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';
const ports = (process.env['CLUSTER_PORTS'] || '3000,3001').split(',').map(Number);
if (ports.length < 2 || ports.some((port) => !Number.isInteger(port) || port < 1 || port > 65_535)) {
  fail(`CLUSTER_PORTS must be two or more ports, like 3000,3001; got ${JSON.stringify(process.env['CLUSTER_PORTS'])}`);
}
const restartDelayMs = Number(process.env['DEMO_RESTART_DELAY_MS'] || 3_000);
const webDir = process.env['DEMO_WEB_DIR'] || defaultOutDir;

/** True when Redis answers PING within 2 s. */
async function redisAnswers(url: string): Promise<boolean> {
  const client = createClient({ url, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) await client.quit().catch(() => undefined);
  }
}

if (!(await redisAnswers(redisUrl))) {
  fail(`no Redis answers at ${redisUrl}. Start one with \`redis-server\` (or \`docker run --rm -p 6379:6379 redis\`), or set REDIS_URL.`);
}
await buildWeb(webDir);

// Every node signs and verifies tokens with this key: a token from one node works on the other.
const secret = process.env['DEMO_JWT_SECRET'] || randomBytes(32).toString('base64url');
const entry = fileURLToPath(new URL('./clusterNode.ts', import.meta.url));
const names = ports.map((_, i) => String.fromCharCode(65 + i)); // A, B, …
const children = new Map<string, ChildProcess>();
let stopping = false;

function start(index: number): void {
  const name = names[index] ?? String(index);
  const child = fork(entry, [], {
    // The same loader and conditions as this process (tsx, @trpc-lanyard/source).
    execArgv: process.execArgv,
    env: { ...process.env, NODE_NAME: name, PORT: String(ports[index]), CLUSTER_PORTS: ports.join(','), REDIS_URL: redisUrl, DEMO_JWT_SECRET: secret, DEMO_WEB_DIR: webDir },
    stdio: 'inherit',
  });
  children.set(name, child);
  child.once('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    console.log(`trpc-lanyard cluster demo: node ${name} exited (${signal ?? `code ${code}`}); restarting it in ${restartDelayMs / 1000} s`);
    setTimeout(() => {
      if (!stopping) start(index);
    }, restartDelayMs);
  });
}

ports.forEach((_, index) => start(index));
console.log(`trpc-lanyard cluster demo: ${ports.length} nodes on ${redisUrl}; open http://localhost:${ports[0]} — Ctrl-C stops all.`);

const shutdown = () => {
  if (stopping) process.exit(1);
  stopping = true;
  const exits = [...children.values()].map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of children.values()) child.kill('SIGTERM');
  const force = setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, 5_000);
  void Promise.all(exits).then(() => {
    clearTimeout(force);
    process.exit(0);
  });
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
