/**
 * One server node of the Redis fan-out scenario, for one implementation (BENCH_IMPL):
 * - `lanyard`: `applyWSSHandler` from trpc-lanyard/server, a subscription that is
 *   `yield* broker.stream(channel, { lastEventId, signal })` on `createRedisBroker` (node-redis).
 * - `socketio`: a Socket.IO 4 server with `@socket.io/redis-adapter` (node-redis); clients join a room.
 * On command, this node is also the publisher (paced at a fixed rate, same payload for both).
 * Started by bench/redis/run.ts with `node --import tsx bench/redis/node.ts`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { initTRPC } from '@trpc/server';
import { createClient } from 'redis';
import { WebSocketServer } from 'ws';
import { now } from '../lib/config.js';
import { createChannel } from '../lib/ipc.js';
import { isRedisImpl } from './messages.js';
import type { NodeCommand, NodeReply, RedisBenchEvent } from './messages.js';

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const implName = process.env['BENCH_IMPL'];
if (!isRedisImpl(implName)) throw new Error(`BENCH_IMPL must be lanyard or socketio, got ${String(implName)}`);
const redisUrl = env('BENCH_REDIS_URL');
const prefix = env('BENCH_REDIS_PREFIX');
const channelName = env('BENCH_REDIS_CHANNEL');

interface Node {
  port: number;
  counts: () => { clients: number; localSubscribers: number };
  publish: (event: RedisBenchEvent) => void;
  close: () => Promise<void>;
}

function parseInput(value: unknown): { lastEventId?: string | null } {
  if (value === undefined || value === null) return {};
  if (typeof value === 'object') {
    const { lastEventId } = value as Record<string, unknown>;
    if (lastEventId === undefined || lastEventId === null || typeof lastEventId === 'string') return { lastEventId };
  }
  throw new Error('sub: expected { lastEventId?: string }');
}

async function startLanyard(): Promise<Node> {
  const { createRedisBroker } = await import('trpc-lanyard/broker');
  const { applyWSSHandler } = await import('trpc-lanyard/server');
  const client = await createClient({ url: redisUrl }).on('error', onRedisError).connect();
  const broker = createRedisBroker({ client, prefix, historySize: 10_000, historyTtlMs: 120_000, metaTtlMs: 120_000 });
  const t = initTRPC.create();
  const router = t.router({
    sub: t.procedure.input(parseInput).subscription(async function* ({ input, signal }) {
      yield* broker.stream<RedisBenchEvent>(channelName, { lastEventId: input.lastEventId ?? null, signal });
    }),
  });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 2048 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  applyWSSHandler({ wss, router, createContext: () => ({}) });
  return {
    port: (wss.address() as AddressInfo).port,
    counts: () => ({ clients: wss.clients.size, localSubscribers: broker.subscriberCount(channelName) }),
    publish: (event) => {
      broker.publish(channelName, event).catch((error: unknown) => {
        // The broker's message may be empty-ended; the driver's error is in `cause`.
        channel.fail(new Error(`publish of seq ${event.seq} failed: ${inspect(error, { depth: 4 })}`));
      });
    },
    close: async () => {
      await broker.close();
      await client.quit();
    },
  };
}

async function startSocketIo(): Promise<Node> {
  const { Server } = await import('socket.io');
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const pub = await createClient({ url: redisUrl }).on('error', onRedisError).connect();
  const sub = await pub.duplicate().on('error', onRedisError).connect();
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    transports: ['websocket'],
    adapter: createAdapter(pub, sub, { key: `${prefix}-sio` }),
  });
  io.on('connection', (socket) => {
    socket.on('join', (room: unknown, ack: unknown) => {
      if (room !== channelName || typeof ack !== 'function') return;
      void socket.join(room);
      (ack as () => void)();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen({ host: '127.0.0.1', port: 0, backlog: 2048 }, resolve));
  return {
    port: (httpServer.address() as AddressInfo).port,
    counts: () => ({
      clients: io.engine.clientsCount,
      localSubscribers: io.of('/').adapter.rooms.get(channelName)?.size ?? 0,
    }),
    publish: (event) => {
      io.to(channelName).emit('msg', event);
    },
    close: async () => {
      await io.close();
      await sub.quit().catch(() => undefined);
      await pub.quit().catch(() => undefined);
    },
  };
}

/** Publishes `events` messages at `ratePerSec`, catching up within each 1 ms timer tick. */
function publish(node: Node, events: number, ratePerSec: number, payloadBytes: number): void {
  const text = 'x'.repeat(payloadBytes);
  const firstAt = now();
  let seq = 0;
  const tick = (): void => {
    const due = Math.min(events, Math.floor(((now() - firstAt) * ratePerSec) / 1000) + 1);
    for (; seq < due; seq++) node.publish(Object.freeze({ seq, at: now(), text }));
    if (seq >= events) channel.send({ type: 'published', events: seq, firstAt, lastAt: now() });
    else setTimeout(tick, 1);
  };
  tick();
}

/** The node, once started (commands only come after 'ready'). */
const started: { node?: Node } = {};
let stopping = false;

/** A Redis connection error mid-run fails the run; during shutdown it is expected. */
function onRedisError(error: unknown): void {
  if (!stopping) channel.fail(error);
}

const channel = createChannel<NodeCommand, NodeReply>(`node-${implName}`, async (command) => {
  const node = started.node;
  if (node === undefined) throw new Error('command before ready');
  switch (command.type) {
    case 'count':
      channel.send({ type: 'count', ...node.counts() });
      return;
    case 'publish':
      publish(node, command.events, command.ratePerSec, command.payloadBytes);
      return;
    case 'stop':
      stopping = true;
      await node.close().catch(() => undefined);
      process.exit(0);
  }
});

started.node = implName === 'lanyard' ? await startLanyard() : await startSocketIo();
channel.send({ type: 'ready', port: started.node.port });
