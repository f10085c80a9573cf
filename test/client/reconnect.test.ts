import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket as ServerSocket } from 'ws';
import { disposeAll, connect, idsUpTo, recordFeed, sleep, startServer, waitFor } from './harness.js';

afterEach(disposeAll);

interface WireMessage {
  id: number;
  method: string;
  params?: { path: string; lastEventId?: string };
}
const messagesOf = (frames: unknown[]) => frames.flat() as WireMessage[];

describe('after the socket is lost', () => {
  it('resubscribes with lastEventId under a new id: no tracked event lost or duplicated', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url, { retryDelayMs: () => 20 });
    const feed = recordFeed(trpc);
    server.feed.publish(3);
    await waitFor(() => feed.ids.length === 3);

    server.sockets[0]!.ws.terminate();
    server.feed.publish(3); // while the client is away
    await waitFor(() => server.sockets.length === 2, 3_000, 'a second socket');
    await waitFor(() => feed.ids.length === 6);
    server.feed.publish(1);
    await waitFor(() => feed.ids.length === 7);
    await sleep(30);

    expect(feed.ids).toEqual(idsUpTo(7));
    const [first] = messagesOf(server.parsedFrames(1));
    const [resubscribe] = messagesOf(server.parsedFrames(2));
    expect(resubscribe).toMatchObject({ method: 'subscription', params: { path: 'feed', lastEventId: '3' } });
    expect(resubscribe!.id).not.toBe(first!.id);
    expect(feed.errors).toEqual([]);
  });

  it('fails a query already sent on the lost socket, and sends unsent ones on the next', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url, { retryDelayMs: () => 50 });
    await trpc.echo.query('warm-up');
    const inFlight = trpc.slow.mutate().catch((e: unknown) => e);
    await waitFor(() => server.parsedFrames(1).length === 2);
    server.sockets[0]!.ws.terminate();
    expect(String(await inFlight)).toMatch(/WebSocket closed/);
    const unsent = trpc.echo.query('later'); // issued while reconnecting
    expect(await unsent).toBe('later');
    expect(server.sockets).toHaveLength(2);
  });

  it('retries with backoff attempt 0, 1, 2… while the server is down, and restarts at 0 after a good socket', async () => {
    const server = await startServer();
    const attempts: number[] = [];
    const { trpc } = connect(server.url, {
      retryDelayMs: (attempt) => {
        attempts.push(attempt);
        return 10;
      },
    });
    await trpc.echo.query('up');
    server.sockets[0]!.ws.terminate();
    await waitFor(() => server.sockets.length === 2);
    await trpc.echo.query('up again');
    expect(attempts).toEqual([0]);

    // The second socket answered a call, so losing it starts over at attempt 0. From then on
    // the server drops every socket right after the handshake: each is a further attempt.
    const refuse = (ws: ServerSocket) => ws.terminate();
    server.wss.on('connection', refuse);
    server.sockets[1]!.ws.terminate();
    await waitFor(() => attempts.length >= 5);
    expect(attempts.slice(1, 5)).toEqual([0, 1, 2, 3]);
  });
});

describe('reconnect timing', () => {
  it('waits retryDelayMs(attempt) before dialing again', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url, { retryDelayMs: (attempt) => (attempt === 0 ? 250 : 0) });
    await trpc.echo.query('x');
    const lostAt = Date.now();
    server.sockets[0]!.ws.terminate();
    await waitFor(() => server.sockets.length === 2, 3_000, 'a second socket');
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(240);
  });
});

describe('server reconnect notification (make-before-break)', () => {
  it('opens exactly one new socket; a slow mutation finishes on the old one; the subscription moves without loss or duplicates', async () => {
    let overlapPublished = false;
    const server = await startServer({
      onConnection: (ws) => {
        ws.on('message', (data) => {
          // The moment the new socket receives the resubscription, publish: the old socket
          // (still subscribed) and the new one (replaying from lastEventId) both see these.
          if (!overlapPublished && String(data).includes('lastEventId')) {
            overlapPublished = true;
            server.feed.publish(3);
          }
        });
      },
    });
    const { trpc, wsClient } = connect(server.url, { retryDelayMs: () => 0 });
    const feed = recordFeed(trpc);
    server.feed.publish(3);
    await waitFor(() => feed.ids.length === 3);
    const slow = trpc.slow.mutate();
    await waitFor(() => messagesOf(server.parsedFrames(1)).some((m) => m.params?.path === 'slow'));
    const oldWs = server.sockets[0]!.ws;

    server.broadcastReconnectNotification();
    await waitFor(() => overlapPublished, 3_000, 'the resubscription');
    await waitFor(() => feed.ids.length >= 6);
    // The old socket stops the subscription once the new one has started it…
    await waitFor(() => messagesOf(server.parsedFrames(1)).some((m) => m.method === 'subscription.stop'));
    // …but stays open for the mutation still running there.
    expect(oldWs.readyState).toBe(1);
    server.releaseSlow();
    expect(await slow).toBe('finished');
    await waitFor(() => oldWs.readyState === 3, 3_000, 'the drained socket to close');

    server.feed.publish(2);
    await waitFor(() => feed.ids.length >= 8);
    await sleep(50);
    expect(feed.ids).toEqual(idsUpTo(8));
    expect(feed.lifecycle).toEqual(['started']); // the move is invisible to the subscriber
    expect(server.sockets).toHaveLength(2);
    expect(wsClient.connectionState.get().state).toBe('pending');
    const resubscribe = messagesOf(server.parsedFrames(2)).find((m) => m.method === 'subscription');
    expect(resubscribe?.params?.lastEventId).toBe('3');
    expect(feed.errors).toEqual([]);
  });

  it('sends new calls on the new socket once it is ready', async () => {
    const server = await startServer();
    const { trpc } = connect(server.url, { retryDelayMs: () => 0 });
    await trpc.echo.query('before');
    server.broadcastReconnectNotification();
    await waitFor(() => server.sockets.length === 2);
    await waitFor(() => server.sockets[0]!.ws.readyState === 3, 3_000, 'the idle old socket to close');
    expect(await trpc.echo.query('after')).toBe('after');
    expect(messagesOf(server.parsedFrames(2)).map((m) => m.params?.path)).toEqual(['echo']);
  });
});
