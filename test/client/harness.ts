/**
 * Fixtures for the client tests: a stock tRPC WebSocket server on port 0 that records every
 * frame it receives, a router with a replayable tracked feed, and a typed client built with
 * our `createWSClient` + `wsLink`. Everything made here is disposed by `disposeAll()`.
 */
import { createTRPCClient } from '@trpc/client';
import { initTRPC, tracked, TRPCError } from '@trpc/server';
import type { CreateWSSContextFnOptions } from '@trpc/server/adapters/ws';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import type { IncomingMessage } from 'node:http';
import type { WebSocket as ServerSocket } from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { WebSocketClientOptions, WsClient } from '../../src/client/index.js';
import { createWSClient, wsLink } from '../../src/client/index.js';

/** `ws` as the `WebSocket` ponyfill (Node 20 has no global one). */
export const NodeWebSocket = WebSocket as unknown as typeof globalThis.WebSocket;

/** An append-only list of events; subscribers replay from any id, then follow live. */
export class Feed {
  private readonly events: number[] = [];
  private readonly waiters = new Set<() => void>();

  publish(count = 1): void {
    for (let i = 0; i < count; i++) this.events.push(this.events.length + 1);
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  get lastId(): number {
    return this.events.length;
  }

  async *follow(lastEventId: string | undefined, signal: AbortSignal | undefined) {
    let cursor = lastEventId === undefined ? 0 : Number(lastEventId);
    while (!signal?.aborted) {
      while (cursor < this.events.length) {
        const value = this.events[cursor++]!;
        yield tracked(String(value), value);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }
}

/** A promise with its resolver, for procedures the test releases. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

interface Context {
  token: string | undefined;
}

export function createRouter(feed: Feed, gates: { slow: Promise<void> }) {
  const t = initTRPC.context<Context>().create();
  return t.router({
    echo: t.procedure.input((v) => v as string).query(({ input }) => input),
    add: t.procedure.input((v) => v as { a: number; b: number }).mutation(({ input }) => input.a + input.b),
    whoami: t.procedure.query(({ ctx }) => ctx.token ?? null),
    fail: t.procedure.query(() => {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'nope' });
    }),
    slow: t.procedure.mutation(async () => {
      await gates.slow;
      return 'finished';
    }),
    feed: t.procedure
      .input((v) => (v ?? {}) as { lastEventId?: string })
      .subscription(({ input, signal }) => feed.follow(input.lastEventId, signal)),
  });
}
export type TestRouter = ReturnType<typeof createRouter>;

/** One frame a server socket received. */
export interface ReceivedFrame {
  /** 1 for the first socket the server accepted, 2 for the next… */
  readonly socket: number;
  readonly text: string;
}

export interface TestServer {
  readonly url: string;
  readonly wss: WebSocketServer;
  readonly feed: Feed;
  readonly frames: ReceivedFrame[];
  /** Server-side sockets in the order they connected, with the URL each asked for. */
  readonly sockets: Array<{ ws: ServerSocket; req: IncomingMessage }>;
  readonly releaseSlow: () => void;
  readonly broadcastReconnectNotification: () => void;
  /** Frames (parsed JSON) a socket received, excluding PING/PONG. */
  parsedFrames(socket?: number): unknown[];
}

const disposers: Array<() => Promise<void> | void> = [];

/** Disposes every server and client made since the last call; use in `afterEach`. */
export async function disposeAll(): Promise<void> {
  const pending = disposers.splice(0).reverse();
  for (const dispose of pending) await dispose();
}

export async function startServer(
  opts: {
    dangerouslyDisablePong?: boolean;
    keepAlive?: { enabled: boolean; pingMs?: number; pongWaitMs?: number };
    onConnection?: (ws: ServerSocket, req: IncomingMessage) => void;
  } = {},
): Promise<TestServer> {
  const feed = new Feed();
  let slow = deferred();
  const gates = {
    get slow() {
      return slow.promise;
    },
  };
  const wss = new WebSocketServer({ port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const handler = applyWSSHandler({
    wss,
    router: createRouter(feed, gates),
    createContext: ({ info }: CreateWSSContextFnOptions): Context => ({
      token: info.connectionParams?.['token'] ?? undefined,
    }),
    dangerouslyDisablePong: opts.dangerouslyDisablePong,
    keepAlive: opts.keepAlive,
  });
  const frames: ReceivedFrame[] = [];
  const sockets: TestServer['sockets'] = [];
  wss.on('connection', (ws, req) => {
    sockets.push({ ws, req });
    const socket = sockets.length;
    ws.on('message', (data) => frames.push({ socket, text: String(data) }));
    opts.onConnection?.(ws, req);
  });
  const { port } = wss.address() as { port: number };
  disposers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  return {
    url: `ws://127.0.0.1:${port}`,
    wss,
    feed,
    frames,
    sockets,
    releaseSlow: () => {
      slow.resolve();
      slow = deferred();
    },
    broadcastReconnectNotification: handler.broadcastReconnectNotification,
    parsedFrames: (socket) =>
      frames
        .filter((f) => (socket === undefined || f.socket === socket) && f.text !== 'PING' && f.text !== 'PONG')
        .map((f) => JSON.parse(f.text) as unknown),
  };
}

/** Our client plus a typed tRPC client over it; both closed by `disposeAll()`. */
export function connect(url: string, opts: Partial<WebSocketClientOptions> = {}) {
  const wsClient: WsClient = createWSClient({ url, WebSocket: NodeWebSocket, ...opts });
  const trpc = createTRPCClient<TestRouter>({ links: [wsLink({ client: wsClient })] });
  disposers.push(() => wsClient.close());
  return { wsClient, trpc };
}

/** Resolves once `predicate()` holds, polling every few ms; rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records a subscription's tracked event ids and lifecycle. */
export function recordFeed(trpc: ReturnType<typeof connect>['trpc'], lastEventId?: string) {
  const ids: string[] = [];
  const lifecycle: string[] = [];
  const errors: unknown[] = [];
  const subscription = trpc.feed.subscribe(lastEventId === undefined ? {} : { lastEventId }, {
    onStarted: () => lifecycle.push('started'),
    onData: (event) => ids.push(event.id),
    onError: (error) => errors.push(error),
    onStopped: () => lifecycle.push('stopped'),
  });
  disposers.push(() => subscription.unsubscribe());
  return { ids, lifecycle, errors, subscription };
}

/** `['1', '2', …, String(n)]`. */
export const idsUpTo = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));
