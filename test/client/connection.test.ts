import type { Socket } from 'node:net';
import { TRPCClientError } from '@trpc/client';
import { afterEach, describe, expect, it } from 'vitest';
import NodeWebSocket from 'ws';
import { connect, disposeAll, recordFeed, sleep, startServer, waitFor } from './harness.js';

afterEach(disposeAll);

describe('connectionParams', () => {
  it('evaluates an async connectionParams function afresh for every socket and sends it first', async () => {
    const server = await startServer();
    let n = 0;
    const { trpc } = connect(server.url, {
      connectionParams: async () => {
        await sleep(5);
        return { token: `t${++n}` };
      },
      retryDelayMs: () => 0,
    });
    expect(await trpc.whoami.query()).toBe('t1');
    server.sockets[0]!.ws.terminate();
    await waitFor(() => server.sockets.length === 2);
    expect(await trpc.whoami.query()).toBe('t2');
    for (const socket of [1, 2]) {
      expect(server.parsedFrames(socket)[0]).toEqual({ method: 'connectionParams', data: { token: `t${socket}` } });
    }
    expect(server.sockets.map((s) => s.req.url)).toEqual(['/?connectionParams=1&lanyard=1', '/?connectionParams=1&lanyard=1']);
  });

  it('sends the connectionParams frame and the calls that waited for the socket in one write', async () => {
    const server = await startServer();
    // What each write of the client's TCP socket carries, counted in client frames (masked text frames start 0x81 0x80|len).
    const writes: number[] = [];
    class RecordingWebSocket extends NodeWebSocket {
      constructor(address: string) {
        super(address);
        this.once('open', () => {
          const tcp = (this as unknown as { _socket: Socket })._socket;
          const frames = (chunks: unknown[]) => chunks.filter((c) => Buffer.isBuffer(c) && c[0] === 0x81 && (c[1]! & 0x80) !== 0).length;
          const writev = tcp._writev!.bind(tcp);
          const write = tcp._write.bind(tcp);
          tcp._writev = (chunks, callback) => {
            writes.push(frames(chunks.map((c) => c.chunk as unknown)));
            writev(chunks, callback);
          };
          tcp._write = (chunk, encoding, callback) => {
            writes.push(frames([chunk]));
            write(chunk, encoding, callback);
          };
        });
      }
    }
    const { trpc } = connect(server.url, { WebSocket: RecordingWebSocket as unknown as typeof globalThis.WebSocket, connectionParams: { token: 't' } });
    const answers = await Promise.all([trpc.whoami.query(), trpc.echo.query('x')]);
    expect(answers).toEqual(['t', 'x']);
    expect(server.parsedFrames(1).slice(0, 2)).toMatchObject([{ method: 'connectionParams' }, [{ method: 'query' }, { method: 'query' }]]);
    // The params frame and the batch of waiting calls: two frames, one write.
    expect(writes[0]).toBe(2);
  });

  it('adds only lanyard=1 to the URL without connectionParams, keeping an existing query', async () => {
    const server = await startServer();
    const { trpc } = connect(`${server.url}/?room=a`);
    await trpc.echo.query('x');
    expect(server.sockets[0]!.req.url).toBe('/?room=a&lanyard=1');
    expect(server.parsedFrames(1)[0]).toMatchObject({ method: 'query' });
  });

  it('resolves an async url for every socket', async () => {
    const server = await startServer();
    let calls = 0;
    const { trpc } = connect('', {
      url: async () => {
        calls++;
        return server.url;
      },
      retryDelayMs: () => 0,
    });
    await trpc.echo.query('x');
    server.sockets[0]!.ws.terminate();
    await waitFor(() => server.sockets.length === 2);
    expect(calls).toBe(2);
  });

  it('surfaces a failing connectionParams as the cause in onError, connectionState and authError; the waiting query fails at once, the subscription resumes', async () => {
    const server = await startServer();
    let n = 0;
    const down = new Error('token service down');
    const onErrors: unknown[] = [];
    const { trpc, wsClient } = connect(server.url, {
      connectionParams: async () => {
        if (++n === 1) throw down;
        return { token: `t${n}` };
      },
      retryDelayMs: () => 30,
      onError: (event) => onErrors.push(event),
    });
    const states: Array<ReturnType<typeof wsClient.connectionState.get>> = [];
    wsClient.connectionState.subscribe({ next: (s) => states.push(s) });
    const feed = recordFeed(trpc);
    const error = await trpc.whoami.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).cause).toBe(down);
    expect(server.sockets).toHaveLength(1); // it failed with the first socket, not after a retry
    expect(onErrors).toHaveLength(1);
    expect(onErrors[0]).toMatchObject({ type: 'error', error: down });
    const failed = states.find((s) => s.error !== null);
    expect(failed?.error?.cause).toBe(down);
    expect(failed?.authError?.cause).toBe(down);

    await waitFor(() => server.sockets.length === 2, 3_000, 'the retry');
    expect(await trpc.whoami.query()).toBe('t2');
    server.feed.publish();
    await waitFor(() => feed.ids.length === 1, 3_000, 'an event on the subscription');
    expect(feed.errors).toEqual([]);
  });
});

describe('keep-alive', () => {
  it('answers the server PING with PONG, so a pinging stock server keeps the socket', async () => {
    const server = await startServer({ keepAlive: { enabled: true, pingMs: 20, pongWaitMs: 40 } });
    const { trpc } = connect(server.url);
    await trpc.echo.query('x');
    await sleep(200);
    expect(server.sockets).toHaveLength(1);
    expect(server.sockets[0]!.ws.readyState).toBe(1);
    expect(server.frames.filter((f) => f.text === 'PONG').length).toBeGreaterThan(2);
  });

  it('gives up on a socket whose server does not answer PING, and reconnects', async () => {
    const server = await startServer({ dangerouslyDisablePong: true });
    const closes: Array<number | undefined> = [];
    const { trpc } = connect(server.url, {
      keepAlive: { enabled: true, intervalMs: 30, pongTimeoutMs: 30 },
      retryDelayMs: () => 0,
      onClose: (cause) => closes.push(cause?.code),
    });
    await trpc.echo.query('x');
    await waitFor(() => server.sockets[0]!.ws.readyState === 3, 2_000, 'the silent socket to close');
    await waitFor(() => server.sockets.length >= 2, 2_000, 'a new socket');
    expect(server.frames.filter((f) => f.socket === 1 && f.text === 'PING')).toHaveLength(1);
    expect(closes[0]).toBe(1006);
  });

  it('keeps a socket whose server answers PING', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url, { keepAlive: { enabled: true, intervalMs: 20, pongTimeoutMs: 20 } });
    await trpc.echo.query('x');
    await sleep(200);
    expect(server.sockets).toHaveLength(1);
    expect(server.frames.filter((f) => f.text === 'PING').length).toBeGreaterThan(3);
  });

  it('sends no PING while frames keep arriving', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url, { keepAlive: { enabled: true, intervalMs: 250, pongTimeoutMs: 250 } });
    const ids: string[] = [];
    trpc.feed.subscribe({}, { onData: (e) => ids.push(e.id) });
    const started = Date.now();
    while (Date.now() - started < 400) {
      server.feed.publish();
      await sleep(10);
    }
    expect(ids.length).toBeGreaterThan(10);
    expect(server.frames.filter((f) => f.text === 'PING')).toHaveLength(0);
  });
});

describe('lazy mode', () => {
  it('opens on the first request and closes after closeMs with nothing in flight', async () => {
    const server = await startServer();
    const { trpc, wsClient } = connect(server.url, { lazy: { enabled: true, closeMs: 50 } });
    await sleep(50);
    expect(server.sockets).toHaveLength(0);
    expect(wsClient.connectionState.get().state).toBe('idle');

    expect(await trpc.echo.query('x')).toBe('x');
    expect(server.sockets).toHaveLength(1);
    await trpc.echo.query('y'); // activity keeps it open
    await waitFor(() => server.sockets[0]!.ws.readyState === 3, 2_000, 'the lazy close');
    expect(wsClient.connectionState.get().state).toBe('idle');

    expect(await trpc.echo.query('z')).toBe('z');
    expect(server.sockets).toHaveLength(2);
  });

  it('keeps the socket while a subscription is live', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url, { lazy: { enabled: true, closeMs: 20 } });
    const ids: string[] = [];
    const sub = trpc.feed.subscribe({}, { onData: (e) => ids.push(e.id) });
    server.feed.publish();
    await waitFor(() => ids.length === 1);
    await sleep(100);
    expect(server.sockets[0]!.ws.readyState).toBe(1);
    sub.unsubscribe();
    await waitFor(() => server.sockets[0]!.ws.readyState === 3, 2_000, 'the lazy close');
  });
});
