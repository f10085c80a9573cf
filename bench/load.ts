/**
 * Load process: all the clients, for one implementation (BENCH_IMPL).
 * Started by run.ts with `node --import tsx bench/load.ts`.
 */
import { createTRPCClient } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import { WebSocket as WsWebSocket } from 'ws';
import { impl as implFromEnv } from './lib/child-impl.js';
import { now } from './lib/config.js';
import { createChannel, markWindow } from './lib/ipc.js';
import { cpuSample } from './lib/messages.js';
import type { CpuSample, LoadCommand, LoadReply } from './lib/messages.js';
import type { AppRouter, BenchEvent } from './lib/router.js';
import type { BenchWSClient } from './impls/types.js';

const impl = await implFromEnv();
/** Node 20 has no global WebSocket; both implementations get the `ws` one. */
const WebSocketClass = WsWebSocket as unknown as typeof globalThis.WebSocket;

interface Connection {
  wsClient: BenchWSClient;
  trpc: TRPCClient<AppRouter>;
}

function connect(url: string): Connection {
  const wsClient = impl.createWSClient({ url, WebSocket: WebSocketClass });
  const trpc = createTRPCClient<AppRouter>({ links: [impl.wsLink({ client: wsClient })] });
  return { wsClient, trpc };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- fan-out

const fanout = {
  subscribers: 0,
  delivered: 0,
  lastDeliveryAt: 0,
  /** Events each subscriber must get; known once the server stopped publishing. */
  expectedEvents: -1,
  onComplete: undefined as (() => void) | undefined,
};

async function fanoutSubscribe(url: string, subscribers: number, batch: number, timeoutMs: number): Promise<number> {
  const started = now();
  let subscribed = 0;
  for (let first = 0; first < subscribers; first += batch) {
    const pending: Promise<void>[] = [];
    for (let index = first; index < Math.min(first + batch, subscribers); index++) {
      pending.push(subscribe(url, index));
    }
    await withTimeout(Promise.all(pending), timeoutMs, () => `${subscribed} of ${subscribers} subscriptions started`);
    subscribed += pending.length;
  }
  fanout.subscribers = subscribers;
  return now() - started;
}

function subscribe(url: string, index: number): Promise<void> {
  const { trpc } = connect(url);
  let nextSeq = 0;
  return new Promise<void>((resolve, reject) => {
    trpc.onEvent.subscribe(undefined, {
      onStarted: () => resolve(),
      onData: (event: BenchEvent) => {
        if (event.seq !== nextSeq) {
          channel.fail(new Error(`subscriber ${index}: got seq ${event.seq}, expected ${nextSeq}`));
        }
        nextSeq++;
        fanout.delivered++;
        fanout.lastDeliveryAt = now();
        if (fanout.expectedEvents >= 0) checkFanoutDone(index, nextSeq);
      },
      onError: (error) => {
        reject(error);
        channel.fail(new Error(`subscriber ${index}: ${String(error)}`));
      },
      onStopped: () => channel.fail(new Error(`subscriber ${index}: subscription stopped`)),
      onComplete: () => channel.fail(new Error(`subscriber ${index}: subscription completed`)),
    });
  });
}

function checkFanoutDone(index: number, received: number): void {
  if (received > fanout.expectedEvents) {
    channel.fail(new Error(`subscriber ${index}: ${received} events, only ${fanout.expectedEvents} published`));
  }
  if (fanout.delivered === fanout.subscribers * fanout.expectedEvents) fanout.onComplete?.();
}

async function fanoutExpect(events: number, timeoutMs: number): Promise<void> {
  const target = fanout.subscribers * events;
  const done = new Promise<void>((resolve) => {
    fanout.onComplete = resolve;
  });
  fanout.expectedEvents = events;
  if (fanout.delivered === target) fanout.onComplete?.();
  if (fanout.delivered > target) throw new Error(`delivered ${fanout.delivered} > ${target}`);
  await withTimeout(done, timeoutMs, () => `${fanout.delivered} of ${target} events delivered`);
  markWindow('to');
  channel.send({
    type: 'fanout-done',
    deliveries: fanout.delivered,
    lastDeliveryAt: fanout.lastDeliveryAt,
    cpu: cpuSample(now()),
  });
}

// ------------------------------------------------------------ round trips

async function roundTrips(url: string, warmupMs: number, durationMs: number, inflight: number): Promise<void> {
  const { wsClient, trpc } = connect(url);
  await trpc.echo.query({ n: -1, text: 'ping' });
  const measureFrom = now() + warmupMs;
  const measureTo = measureFrom + durationMs;
  let nextId = 0;
  let calls = 0;
  let cpuFrom: CpuSample | undefined;
  let cpuTo: CpuSample | undefined;
  const sampler = setInterval(() => {
    const at = now();
    if (cpuFrom === undefined && at >= measureFrom) {
      cpuFrom = cpuSample(at);
      markWindow('from');
    }
    if (cpuTo === undefined && at >= measureTo) {
      cpuTo = cpuSample(at);
      markWindow('to');
    }
  }, 5);
  const worker = async (): Promise<void> => {
    while (now() < measureTo) {
      const n = nextId++;
      const out = await trpc.echo.query({ n, text: 'ping' });
      if (out.n !== n) throw new Error(`echo: sent ${n}, got ${out.n}`);
      const at = now();
      if (at >= measureFrom && at < measureTo) calls++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  clearInterval(sampler);
  await wsClient.close();
  cpuFrom ??= cpuSample(measureFrom);
  cpuTo ??= cpuSample(now());
  channel.send({ type: 'roundtrip-done', calls, elapsedMs: measureTo - measureFrom, cpuFrom, cpuTo });
}

// ------------------------------------------------------------------- main

const channel = createChannel<LoadCommand, LoadReply>('load', async (command) => {
  switch (command.type) {
    case 'fanout-subscribe': {
      const ms = await fanoutSubscribe(command.url, command.subscribers, command.batch, command.timeoutMs);
      channel.send({ type: 'subscribed', ms });
      return;
    }
    case 'fanout-expect':
      await fanoutExpect(command.events, command.timeoutMs);
      return;
    case 'roundtrip':
      await roundTrips(command.url, command.warmupMs, command.durationMs, command.inflight);
      return;
    case 'cpu':
      // Only asked for right before the fan-out publishes.
      markWindow('from');
      channel.send({ type: 'cpu', ...cpuSample(now()) });
      return;
    case 'stop':
      process.exit(0);
  }
});
channel.send({ type: 'ready' });
