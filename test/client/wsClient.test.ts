import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { WebSocketClientOptions as StockOptions } from '@trpc/client';
import { createTRPCClient, TRPCClientError, wsLink as stockWsLink } from '@trpc/client';
import { checkClientCall, checkConnectionParams } from '../../src/protocol/index.js';
import type { WebSocketClientOptions } from '../../src/client/index.js';
import { createWSClient } from '../../src/client/index.js';
import type { TestRouter } from './harness.js';
import { connect, disposeAll, idsUpTo, NodeWebSocket, recordFeed, startServer, waitFor } from './harness.js';

afterEach(disposeAll);

describe('calls', () => {
  it('answers a query', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url);
    expect(await trpc.echo.query('hello')).toBe('hello');
  });

  it('answers a mutation', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url);
    expect(await trpc.add.mutate({ a: 2, b: 3 })).toBe(5);
  });

  it('rejects with a TRPCClientError carrying the server error code', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url);
    const error = await trpc.fail.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<TestRouter>).data?.code).toBe('BAD_REQUEST');
    expect((error as TRPCClientError<TestRouter>).message).toBe('nope');
  });

  it('delivers subscription events and reports the connection state like stock wsLink', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url);
    const states: string[] = [];
    const ids: string[] = [];
    trpc.feed.subscribe({}, { onConnectionStateChange: (s) => states.push(s.state), onData: (e) => ids.push(e.id) });
    server.feed.publish(3);
    await waitFor(() => ids.length === 3);
    expect(ids).toEqual(idsUpTo(3));
    expect(states[0]).toBe('connecting');
    expect(states).toContain('pending');
  });

  it('sends subscription.stop when the subscriber unsubscribes', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url);
    const feed = recordFeed(trpc);
    await waitFor(() => feed.lifecycle.includes('started'));
    feed.subscription.unsubscribe();
    await waitFor(() => server.parsedFrames().some((f) => (f as { method?: string }).method === 'subscription.stop'));
  });

  it('can be driven by the stock wsLink (same request() contract)', async () => {
    const server = await startServer();
    const wsClient = createWSClient({ url: server.url, WebSocket: NodeWebSocket });
    try {
      const stockClient = wsClient as unknown as Parameters<typeof stockWsLink>[0]['client'];
      const trpc = createTRPCClient<TestRouter>({ links: [stockWsLink({ client: stockClient })] });
      expect(await trpc.add.mutate({ a: 1, b: 1 })).toBe(2);
    } finally {
      await wsClient.close();
    }
  });
});

describe('framing', () => {
  it('flushes requests made before the socket is ready as ONE batch frame', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url);
    const results = await Promise.all([trpc.echo.query('a'), trpc.echo.query('b'), trpc.add.mutate({ a: 1, b: 2 })]);
    expect(results).toEqual(['a', 'b', 3]);
    const frames = server.parsedFrames();
    expect(frames).toHaveLength(1);
    expect(Array.isArray(frames[0])).toBe(true);
    expect((frames[0] as unknown[]).map((m) => (m as { params: { path: string } }).params.path)).toEqual([
      'echo',
      'echo',
      'add',
    ]);
  });

  it('sends the requests of one tick in frames of 16: full frames at once, the rest before the tick ends', async () => {
    const server = await startServer();
    const { trpc, wsClient } = connect(server.url);
    await trpc.echo.query('warm-up');
    const socket = wsClient.connection?.ws as WebSocket;
    const written: string[] = [];
    const send = socket.send.bind(socket);
    socket.send = (data: string) => {
      written.push(data);
      send(data);
    };
    const inputs = Array.from({ length: 40 }, (_, i) => `q${i}`);
    const pending = inputs.map((input) => trpc.echo.query(input));
    expect(written).toHaveLength(2); // two full frames went out while the calls were made
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toHaveLength(3); // the rest went out when the tick's I/O was done, not after a timer
    expect(await Promise.all(pending)).toEqual(inputs);

    const frames = server.parsedFrames().slice(1) as unknown[][];
    expect(frames.map((frame) => frame.length)).toEqual([16, 16, 8]);
    expect(frames.flat().map((m) => (m as { params: { input: unknown } }).params.input)).toEqual(inputs);
  });

  it('sends a lone request in a frame of its own, as a message rather than a batch', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url);
    await trpc.echo.query('warm-up');
    expect(await trpc.echo.query('alone')).toBe('alone');
    const frames = server.parsedFrames();
    expect(frames).toHaveLength(2);
    expect(frames.some((frame) => Array.isArray(frame))).toBe(false);
  });

  it('keeps the order of a tick: a subscription stopped as soon as it started is stopped on the server', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url);
    await trpc.echo.query('warm-up');
    const subscription = trpc.feed.subscribe({}, { onData: () => undefined });
    subscription.unsubscribe();
    await waitFor(() => server.parsedFrames().flat().some((m) => (m as { method?: string }).method === 'subscription.stop'));
    const methods = server
      .parsedFrames()
      .flat()
      .map((m) => (m as { method: string }).method);
    expect(methods).toEqual(['query', 'subscription', 'subscription.stop']);
    expect(await trpc.echo.query('after')).toBe('after'); // and the socket is fine
  });

  it('numbers requests with a per-client counter and never reuses a wire id', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url);
    await trpc.echo.query('a');
    await Promise.all([trpc.echo.query('b'), trpc.echo.query('c')]);
    const ids = server.parsedFrames().flat().map((m) => (m as { id: unknown }).id);
    expect(ids).toEqual([1, 2, 3]);
  });

  it('sends a stock server nothing but stock frames', async () => {
    const server = await startServer({ keepAlive: { enabled: true, pingMs: 20, pongWaitMs: 500 } });
    let n = 0;
    const { trpc, wsClient } = connect(server.url, {
      connectionParams: async () => ({ token: `t${++n}` }),
      keepAlive: { enabled: true, intervalMs: 30, pongTimeoutMs: 500 },
      retryDelayMs: () => 0,
    });
    const feed = recordFeed(trpc);
    await trpc.echo.query('x');
    await trpc.add.mutate({ a: 1, b: 2 });
    server.feed.publish(2);
    await waitFor(() => feed.ids.length === 2);
    // Re-authentication with a stock server: a new socket, never a `lanyard.authenticate` frame.
    await expect(wsClient.reauthenticate()).resolves.toEqual({ expiresAt: null });
    expect(server.sockets).toHaveLength(2);
    server.broadcastReconnectNotification();
    await waitFor(() => server.sockets.length === 3);
    server.sockets[2]!.ws.terminate();
    await waitFor(() => server.sockets.length === 4);
    const reauthenticating = wsClient.reauthenticate(); // while the socket in use is still undecided, or just decided
    await expect(reauthenticating).resolves.toEqual({ expiresAt: null });
    server.feed.publish(1);
    await waitFor(() => feed.ids.length === 3);
    feed.subscription.unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(server.frames.length).toBeGreaterThan(8);
    const firstFrameOf = new Map<number, string>();
    for (const frame of server.frames) {
      if (!firstFrameOf.has(frame.socket)) firstFrameOf.set(frame.socket, frame.text);
      if (frame.text === 'PING' || frame.text === 'PONG') continue;
      const parsed = JSON.parse(frame.text) as unknown;
      if (firstFrameOf.get(frame.socket) === frame.text && checkConnectionParams(parsed).ok) continue;
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
        expect(checkClientCall(message), frame.text).toMatchObject({ ok: true });
        expect(message).not.toHaveProperty('jsonrpc');
      }
    }
    for (const { req } of server.sockets) expect(req.url).toBe('/?connectionParams=1&lanyard=1');
  });
});

describe('negotiation', () => {
  const hello = { version: 1, maxPayloadBytes: 65_536 };

  it('records the lanyard.hello a server sends first, and keeps working', async () => {
    const server = await startServer({
      onConnection: (ws, req) => {
        if (req.url?.includes('lanyard=1')) ws.send(JSON.stringify({ id: null, method: 'lanyard.hello', params: hello }));
      },
    });
    const { trpc, wsClient } = connect(server.url);
    expect(await trpc.echo.query('after hello')).toBe('after hello');
    expect(wsClient.serverInfo).toEqual(hello);
  });

  it('reports no server info for a stock server', async () => {
    const server = await startServer();
    const { trpc, wsClient } = connect(server.url);
    await trpc.echo.query('x');
    expect(wsClient.serverInfo).toBeNull();
  });
});

describe('client surface', () => {
  it('accepts every option value typed for the stock createWSClient', () => {
    expectTypeOf<StockOptions>().toExtend<WebSocketClientOptions>();
  });

  it('exposes the socket in use like stock (`connection`) and closes cleanly', async () => {
    const server = await startServer();
    const { trpc, wsClient } = connect(server.url);
    await trpc.echo.query('x');
    const connection = wsClient.connection;
    expect(connection).toMatchObject({ state: 'open' });
    expect(connection?.ws.readyState).toBe(1);
    await wsClient.close();
    expect(wsClient.connectionState.get()).toEqual({ type: 'state', state: 'idle', error: null, auth: 'none', authError: null });
    await waitFor(() => server.sockets[0]!.ws.readyState === 3);
  });

  it('waits for a query in flight before close() closes the socket', async () => {
    const server = await startServer();
    const { trpc, wsClient } = connect(server.url);
    await trpc.echo.query('x');
    const slow = trpc.slow.mutate();
    await waitFor(() => server.parsedFrames().length === 2);
    const closing = wsClient.close();
    server.releaseSlow();
    expect(await slow).toBe('finished');
    await closing;
  });
});
