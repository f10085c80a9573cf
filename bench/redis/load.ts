/**
 * Load process of the Redis fan-out scenario: every subscriber, for one implementation (BENCH_IMPL),
 * split evenly over the nodes' URLs. `lanyard`: trpc-lanyard/client (`createWSClient` + `wsLink`);
 * `socketio`: socket.io-client, WebSocket transport only, joining the room.
 * Checks that each subscriber gets every message once, in order, and records publish → deliver latency.
 * Started by bench/redis/run.ts with `node --import tsx bench/redis/load.ts`.
 */
import { createTRPCClient } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { inspect } from 'node:util';
import { WebSocket as WsWebSocket } from 'ws';
import { now } from '../lib/config.js';
import { createChannel } from '../lib/ipc.js';
import { isRedisImpl } from './messages.js';
import type { RedisBenchEvent, RedisLoadCommand, RedisLoadReply } from './messages.js';

const implName = process.env['BENCH_IMPL'];
if (!isRedisImpl(implName)) throw new Error(`BENCH_IMPL must be lanyard or socketio, got ${String(implName)}`);
const channelName = process.env['BENCH_REDIS_CHANNEL'] ?? '';

/** Only for the client's types: the node's router has the same shape. */
export function routerShape() {
  const t = initTRPC.create();
  return t.router({
    sub: t.procedure
      .input((value: unknown) => value as { lastEventId?: string | null } | undefined)
      .subscription(async function* (): AsyncGenerator<{ id: string; data: RedisBenchEvent }> {}),
  });
}
type NodeRouter = ReturnType<typeof routerShape>;

const state = {
  subscribers: 0,
  delivered: 0,
  firstDeliveryAt: 0,
  lastDeliveryAt: 0,
  latencies: [] as number[],
  /** Subscribers with an odd index are on node B. */
  nodeBLatencies: [] as number[],
  expected: -1,
  onComplete: undefined as (() => void) | undefined,
};

function onMessage(index: number, nextSeq: { value: number }, event: RedisBenchEvent): void {
  const at = now();
  if (event.seq !== nextSeq.value) channel.fail(new Error(`subscriber ${index}: got seq ${event.seq}, expected ${nextSeq.value}`));
  nextSeq.value++;
  if (state.delivered === 0) state.firstDeliveryAt = at;
  state.delivered++;
  state.lastDeliveryAt = at;
  state.latencies.push(at - event.at);
  if (index % 2 === 1) state.nodeBLatencies.push(at - event.at);
  if (state.expected >= 0) {
    if (nextSeq.value > state.expected) channel.fail(new Error(`subscriber ${index}: more than ${state.expected} messages`));
    if (state.delivered === state.subscribers * state.expected) state.onComplete?.();
  }
}

async function subscribeLanyard(url: string, index: number): Promise<void> {
  const { createWSClient, wsLink } = await import('trpc-lanyard/client');
  const wsClient = createWSClient({ url, WebSocket: WsWebSocket as unknown as typeof globalThis.WebSocket });
  const trpc = createTRPCClient<NodeRouter>({ links: [wsLink({ client: wsClient })] });
  const nextSeq = { value: 0 };
  await new Promise<void>((resolve, reject) => {
    trpc.sub.subscribe(
      {},
      {
        onStarted: () => resolve(),
        onData: (envelope) => onMessage(index, nextSeq, envelope.data),
        onError: (error) => {
          reject(error);
          channel.fail(new Error(`subscriber ${index}: ${String(error)}`));
        },
        onStopped: () => channel.fail(new Error(`subscriber ${index}: subscription stopped`)),
        onComplete: () => channel.fail(new Error(`subscriber ${index}: subscription completed`)),
      },
    );
  });
}

async function subscribeSocketIo(url: string, index: number): Promise<void> {
  const { io } = await import('socket.io-client');
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  const nextSeq = { value: 0 };
  socket.on('msg', (event: RedisBenchEvent) => onMessage(index, nextSeq, event));
  socket.on('disconnect', (reason) => channel.fail(new Error(`subscriber ${index}: disconnected (${reason})`)));
  socket.on('connect_error', (error) => {
    // engine.io keeps the underlying error (ECONNREFUSED, …) in `description`.
    const detail = inspect((error as Error & { description?: unknown }).description ?? '', { depth: 2 });
    channel.fail(new Error(`subscriber ${index} (${url}): ${error.message} ${detail}`));
  });
  await new Promise<void>((resolve) => socket.emit('join', channelName, () => resolve()));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function subscribeAll(urls: string[], perNode: number, batch: number, timeoutMs: number): Promise<number> {
  const started = now();
  const total = urls.length * perNode;
  const subscribe = implName === 'lanyard' ? subscribeLanyard : subscribeSocketIo;
  let done = 0;
  for (let first = 0; first < total; first += batch) {
    const pending: Promise<void>[] = [];
    for (let index = first; index < Math.min(first + batch, total); index++) {
      // Alternate nodes so every batch loads both.
      pending.push(subscribe(urls[index % urls.length] ?? '', index));
    }
    await withTimeout(Promise.all(pending), timeoutMs, () => `${done} of ${total} subscriptions started`);
    done += pending.length;
  }
  state.subscribers = total;
  return now() - started;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function expect(events: number, timeoutMs: number): Promise<void> {
  const target = state.subscribers * events;
  const complete = new Promise<void>((resolve) => {
    state.onComplete = resolve;
  });
  state.expected = events;
  if (state.delivered > target) throw new Error(`delivered ${state.delivered} > ${target}`);
  if (state.delivered === target) state.onComplete?.();
  await withTimeout(complete, timeoutMs, () => `${state.delivered} of ${target} messages delivered`);
  const sorted = Float64Array.from(state.latencies).sort();
  const nodeB = Float64Array.from(state.nodeBLatencies).sort();
  channel.send({
    type: 'delivered',
    deliveries: state.delivered,
    firstDeliveryAt: state.firstDeliveryAt,
    lastDeliveryAt: state.lastDeliveryAt,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    nodeBP50Ms: percentile(nodeB, 0.5),
    nodeBP99Ms: percentile(nodeB, 0.99),
  });
}

const channel = createChannel<RedisLoadCommand, RedisLoadReply>(`load-${implName}`, async (command) => {
  switch (command.type) {
    case 'subscribe': {
      const ms = await subscribeAll(command.urls, command.subscribersPerNode, command.batch, command.timeoutMs);
      channel.send({ type: 'subscribed', ms });
      return;
    }
    case 'expect':
      await expect(command.events, command.timeoutMs);
      return;
    case 'stop':
      process.exit(0);
  }
});
