/**
 * Server process: serves the bench router with one implementation
 * (BENCH_IMPL) on 127.0.0.1, port 0, and publishes fan-out events on command.
 * Started by run.ts with `node --import tsx --expose-gc bench/server.ts`.
 */
import { WebSocketServer } from 'ws';
import { impl as implFromEnv } from './lib/child-impl.js';
import { now } from './lib/config.js';
import { createChannel, hasWindowStart, markWindow } from './lib/ipc.js';
import { cpuSample } from './lib/messages.js';
import type { ServerCommand, ServerReply } from './lib/messages.js';
import { createBenchRouter, createEventBus, EVENT_NAME } from './lib/router.js';
import type { BenchEvent } from './lib/router.js';

const impl = await implFromEnv();
const events = createEventBus();
const router = createBenchRouter(events);
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 2048 });
impl.applyWSSHandler({ wss, router, createContext: () => ({}) });

function collectGarbage(): void {
  if (typeof global.gc !== 'function') throw new Error('server needs --expose-gc');
  // Twice: the first pass can leave finalizer-released objects for the second.
  global.gc();
  global.gc();
}

/** Publishes `burst` events per macrotask until the window closes or `maxEvents` is reached. */
function publish(durationMs: number, maxEvents: number, burst: number): void {
  const cpuAtStart = cpuSample(now());
  const firstAt = now();
  const deadline = firstAt + durationMs;
  let seq = 0;
  const tick = (): void => {
    const end = Math.min(seq + burst, maxEvents);
    for (; seq < end; seq++) {
      const event: BenchEvent = Object.freeze({ seq, at: now(), text: 'hello' });
      events.emit(EVENT_NAME, event);
    }
    if (seq >= maxEvents || now() >= deadline) {
      channel.send({ type: 'published', events: seq, firstAt, lastAt: now(), cpuAtStart });
    } else {
      setImmediate(tick);
    }
  };
  tick();
}

const channel = createChannel<ServerCommand, ServerReply>('server', (command) => {
  switch (command.type) {
    case 'mem': {
      collectGarbage();
      const { heapUsed, rss } = process.memoryUsage();
      channel.send({ type: 'mem', heapUsed, rss, clients: wss.clients.size });
      return;
    }
    case 'cpu':
      markWindow(hasWindowStart() ? 'to' : 'from');
      channel.send({ type: 'cpu', ...cpuSample(now()) });
      return;
    case 'publish':
      markWindow('from');
      publish(command.durationMs, command.maxEvents, command.burst);
      return;
    case 'stop':
      // A normal exit, so that --cpu-prof writes its profile.
      process.exit(0);
  }
});

wss.on('error', (error) => channel.fail(error));
wss.once('listening', () => {
  const address = wss.address();
  if (typeof address !== 'object' || address === null) throw new Error('server: no address');
  channel.send({ type: 'ready', port: address.port });
});
