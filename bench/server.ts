/**
 * Server process: serves one kind of server (BENCH_SERVER: stock, lanyard, ws, lanyard-uws or
 * uws; see `SERVER_KINDS`) on 127.0.0.1, port 0, and publishes fan-out events on command.
 * BENCH_SOURCE picks what the tRPC subscription reads (events or broker), BENCH_AUTH=1 turns on
 * the token check. Started by run.ts with `node --import tsx --expose-gc bench/server.ts`.
 */
import { now } from './lib/config.js';
import { createChannel, hasWindowStart, markWindow } from './lib/ipc.js';
import { cpuSample } from './lib/messages.js';
import type { PublishCommand, ServerCommand, ServerReply } from './lib/messages.js';
import { SERVER_KINDS } from './lib/plan.js';
import type { ServerKind } from './lib/plan.js';
import type { BenchEvent, CallCounter } from './lib/router.js';
import type { BenchServer, BenchServerOptions } from './servers/types.js';

const isServerKind = (value: unknown): value is ServerKind => (SERVER_KINDS as readonly unknown[]).includes(value);

const kind = process.env['BENCH_SERVER'];
const source = process.env['BENCH_SOURCE'] ?? 'events';
if (!isServerKind(kind)) throw new Error(`BENCH_SERVER: unknown ${String(kind)}`);
if (source !== 'events' && source !== 'broker') throw new Error(`BENCH_SOURCE: unknown ${source}`);

const counter: CallCounter = { calls: 0 };

/** Only the transport asked for is loaded: the `ws` servers never load uWS, and the reverse. */
async function startServer(serverKind: ServerKind, options: BenchServerOptions): Promise<BenchServer> {
  switch (serverKind) {
    case 'stock':
    case 'lanyard':
    case 'ws':
      return (await import('./servers/ws.js')).startWsServer(serverKind, options);
    case 'lanyard-uws':
    case 'uws':
      return (await import('./servers/uws.js')).startUWSServer(serverKind, options);
  }
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
      server.publish(frozen ? Object.freeze(event) : event);
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
      channel.send({ type: 'mem', heapUsed, rss, clients: server.clients() });
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

const server = await startServer(kind, {
  source,
  auth: process.env['BENCH_AUTH'] === '1',
  counter,
  fail: (error) => channel.fail(error),
});
channel.send({ type: 'ready', port: server.port });
