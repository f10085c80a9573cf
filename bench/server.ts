/**
 * Server process: serves one implementation (BENCH_SERVER: stock, lanyard or ws) on 127.0.0.1,
 * port 0, and publishes fan-out events on command. BENCH_SOURCE picks what the tRPC
 * subscription reads (events or broker), BENCH_AUTH=1 turns on the token check.
 * Started by run.ts with `node --import tsx --expose-gc bench/server.ts`.
 */
import type { EventEmitter } from 'node:events';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { loadServerImpl } from './impls/index.js';
import { now } from './lib/config.js';
import { createChannel, hasWindowStart, markWindow } from './lib/ipc.js';
import { cpuSample } from './lib/messages.js';
import type { PublishCommand, ServerCommand, ServerReply } from './lib/messages.js';
import { SUBSCRIBE, STARTED } from './lib/rawWire.js';
import { CHANNEL, createBenchRouter, createEventBus, EVENT_NAME } from './lib/router.js';
import type { BenchEvent, CallCounter } from './lib/router.js';

type Publish = (event: BenchEvent) => void;

const kind = process.env['BENCH_SERVER'];
const source = process.env['BENCH_SOURCE'] ?? 'events';
if (kind !== 'stock' && kind !== 'lanyard' && kind !== 'ws') throw new Error(`BENCH_SERVER: unknown ${String(kind)}`);
if (source !== 'events' && source !== 'broker') throw new Error(`BENCH_SOURCE: unknown ${source}`);

const counter: CallCounter = { calls: 0 };
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 2048 });
// Attached at once: loading an implementation below may take longer than listening does.
const listening = new Promise<void>((resolve) => wss.once('listening', resolve));
const publishEvent: Publish = kind === 'ws' ? serveRawWs() : await serveTrpc(kind);

/** The raw `ws` baseline: one `JSON.stringify` per event, the same string sent to every subscriber. */
function serveRawWs(): Publish {
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

async function serveTrpc(name: 'stock' | 'lanyard'): Promise<Publish> {
  const impl = await loadServerImpl(name);
  const events: EventEmitter = createEventBus();
  if (source === 'broker') {
    const { createMemoryBroker } = await import('trpc-lanyard/broker');
    const broker = createMemoryBroker();
    impl.serve({ wss, router: createBenchRouter({ events, broker, counter }), auth: process.env['BENCH_AUTH'] === '1' });
    return (event) => {
      broker.publish(CHANNEL, event).catch((error: unknown) => channel.fail(error));
    };
  }
  impl.serve({ wss, router: createBenchRouter({ events, broker: undefined, counter }), auth: process.env['BENCH_AUTH'] === '1' });
  return (event) => {
    events.emit(EVENT_NAME, event);
  };
}

function collectGarbage(): void {
  if (typeof global.gc !== 'function') throw new Error('server needs --expose-gc');
  // Twice: the first pass can leave finalizer-released objects for the second.
  global.gc();
  global.gc();
}

/**
 * Publishes `burst` events per event-loop turn until the window closes or `maxEvents` is reached.
 * Turns are `setTimeout(0)` callbacks: they run in the timers phase, so whatever a server defers
 * to later in the turn (`process.nextTick`, `setImmediate`) happens between two turns' events.
 */
function publish({ durationMs, maxEvents, burst, frozen }: PublishCommand): void {
  const cpuAtStart = cpuSample(now());
  const firstAt = now();
  const deadline = firstAt + durationMs;
  let seq = 0;
  let turns = 0;
  const turn = (): void => {
    turns++;
    const end = Math.min(seq + burst, maxEvents);
    for (; seq < end; seq++) {
      const event: BenchEvent = { seq, at: now(), text: 'hello' };
      publishEvent(frozen ? Object.freeze(event) : event);
    }
    if (seq >= maxEvents || now() >= deadline) {
      channel.send({ type: 'published', events: seq, turns, firstAt, lastAt: now(), cpuAtStart });
    } else {
      setTimeout(turn, 0);
    }
  };
  turn();
}

const channel = createChannel<ServerCommand, ServerReply>('server', (command) => {
  switch (command.type) {
    case 'mem': {
      collectGarbage();
      const { heapUsed, rss } = process.memoryUsage();
      channel.send({ type: 'mem', heapUsed, rss, clients: wss.clients.size });
      return;
    }
    case 'sample':
      markWindow(hasWindowStart() ? 'to' : 'from');
      channel.send({ type: 'sample', ...cpuSample(now()), calls: counter.calls });
      return;
    case 'publish':
      markWindow('from');
      publish(command);
      return;
    case 'stop':
      // A normal exit, so that --cpu-prof writes its profile.
      process.exit(0);
  }
});

wss.on('error', (error) => channel.fail(error));
await listening;
const address = wss.address();
if (typeof address !== 'object' || address === null) throw new Error('server: no address');
channel.send({ type: 'ready', port: address.port });
