/**
 * The servers on uWebSockets.js: trpc-lanyard's `applyUWSHandler` (`trpc-lanyard/uws`, built
 * `dist/`) and the raw uWS broadcaster, each on a fresh `uWS.App()` with one route, `/*`.
 *
 * uWS keeps no count of a route's sockets: both count `open` and `close` themselves.
 */
import uWS from '@trufflesuite/uws-js-unofficial';
import type { UWSApp } from 'trpc-lanyard/uws';
import { STARTED, SUBSCRIBE } from '../lib/rawWire.js';
import { routerWithSource } from './source.js';
import type { BenchServer, BenchServerOptions } from './types.js';

// The package falls back to a `ws`-based imitation when its native build does not load for this
// Node.js: measuring that as "uWS" would be wrong.
if (!String(uWS.App).includes('[native code]')) throw new Error('uWebSockets.js did not load its native build');

/** The raw broadcaster's one topic: every subscriber's socket subscribes to it. */
const TOPIC = 'event';

/**
 * Never drop a frame, as our adapter (`UWS_MAX_BACKPRESSURE_UNLIMITED`): with uWS's default of
 * 64 KiB a subscriber that falls behind silently misses events, and the run fails on the gap.
 */
const MAX_BACKPRESSURE_UNLIMITED = 0;

export async function startUWSServer(kind: 'lanyard-uws' | 'uws', options: BenchServerOptions): Promise<BenchServer> {
  const app = uWS.App();
  const { publish, clients } = kind === 'uws' ? serveRawUWS(app) : await serveLanyard(app, options);
  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(socket) : reject(new Error('uWS could not listen')))),
  );
  return { port: uWS.us_socket_local_port(listenSocket), publish, clients };
}

type Served = Pick<BenchServer, 'publish' | 'clients'>;

/**
 * The raw uWS baseline, in uWS's own idiom for fan-out: each subscribed socket joins one topic and
 * every event is one `JSON.stringify` and one `app.publish` of that string. uWS queues a
 * publish per subscriber and writes each subscriber's queue at the end of the event-loop turn,
 * corked (one system call per socket per turn): a burst's frames share a write.
 */
function serveRawUWS(app: uWS.TemplatedApp): Served {
  let open = 0;
  app.ws<Record<string, never>>('/*', {
    maxBackpressure: MAX_BACKPRESSURE_UNLIMITED,
    open: () => {
      open++;
    },
    message: (ws, message) => {
      if (Buffer.from(message).toString('utf8') !== SUBSCRIBE) return;
      ws.subscribe(TOPIC);
      ws.send(STARTED);
    },
    // uWS unsubscribes a closed socket from its topics by itself.
    close: () => {
      open--;
    },
  });
  return {
    publish: (event) => {
      app.publish(TOPIC, JSON.stringify(event));
    },
    clients: () => open,
  };
}

async function serveLanyard(app: uWS.TemplatedApp, options: BenchServerOptions): Promise<Served> {
  const { server } = await import('../impls/lanyardUws.js');
  const { router, publish } = await routerWithSource(options);
  const counted = countSockets(app);
  server.serve({ app: counted.app, router, auth: options.auth });
  return { publish, clients: counted.clients };
}

/** `app` as our handler sees it, with the route's sockets counted from `open` to `close` (before its own handlers run). */
function countSockets(app: UWSApp): { app: UWSApp; clients: () => number } {
  let open = 0;
  return {
    app: {
      ws: (pattern, behavior) =>
        app.ws(pattern, {
          ...behavior,
          open: (ws) => {
            open++;
            behavior.open?.(ws);
          },
          close: (ws, code, message) => {
            open--;
            behavior.close?.(ws, code, message);
          },
        }),
    },
    clients: () => open,
  };
}
