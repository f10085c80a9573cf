/**
 * One suite, run across every pairing a user can end up with: our client and server, a stock
 * tRPC client against our server, our client against a stock server, and stock against stock
 * as the reference that proves the suite asks only what tRPC itself does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientKind, TestClient } from '../fixtures/clients.js';
import { makeClient } from '../fixtures/clients.js';
import { createTestRouter } from '../fixtures/router.js';
import type { RunningServer, ServerKind } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

const pairings: Array<[ClientKind, ServerKind]> = [
  ['lanyard', 'lanyard'],
  ['stock', 'lanyard'],
  ['lanyard', 'stock'],
  ['stock', 'stock'],
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(pairings)('%s client ↔ %s server', (clientKind, serverKind) => {
  let server: RunningServer | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await server?.close();
    server = undefined;
  });

  async function setup(clientOpts: Partial<Parameters<typeof makeClient>[1]> = {}, serverOpts: Record<string, unknown> = {}) {
    const fixture = createTestRouter();
    server = await startServer(serverKind, {
      router: fixture.router,
      createContext: ({ info }) => ({ params: info.connectionParams }),
      ...serverOpts,
    });
    const client = makeClient(clientKind, { url: server.url, retryDelayMs: () => 20, ...clientOpts });
    clients.push(client);
    return { fixture, client, trpc: client.trpc, server };
  }

  /** Closes every server-side socket abruptly, as a network failure would. */
  function dropConnections() {
    server!.sockets.terminateAll();
  }

  it('answers queries, mutations and void mutations', async () => {
    const { trpc } = await setup();
    expect(await trpc.echo.query({ hello: 'world' })).toEqual({ hello: 'world' });
    expect(await trpc.add.mutate({ a: 2, b: 3 })).toBe(5);
    expect(await trpc.nothing.mutate()).toBeUndefined();
  });

  it('surfaces a procedure error as TRPCClientError with its code', async () => {
    const { trpc } = await setup();
    await expect(trpc.fail.query()).rejects.toMatchObject({ name: 'TRPCClientError', message: 'not for you', data: { code: 'FORBIDDEN' } });
  });

  it('answers many concurrent calls, batched while the socket opens, each with its own result', async () => {
    const { trpc } = await setup();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => trpc.echo.query(i)));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await Promise.all([trpc.add.mutate({ a: 1, b: 1 }), trpc.echo.query('x')])).toEqual([2, 'x']);
  });

  it('delivers connectionParams to createContext, evaluated afresh for every new socket', async () => {
    let n = 0;
    const { trpc } = await setup({ connectionParams: async () => ({ token: `t${++n}` }) });
    expect(await trpc.whoami.query()).toEqual({ token: 't1' });
    dropConnections();
    await expect.poll(async () => (await trpc.whoami.query().catch(() => null)) ?? null, { timeout: 5000 }).toEqual({ token: 't2' });
  });

  it('streams an observable subscription to completion', async () => {
    const { trpc } = await setup();
    const got: number[] = [];
    await new Promise<void>((resolve, reject) => {
      trpc.ticks.subscribe({ count: 4 }, { onData: (n) => got.push(n), onComplete: () => resolve(), onError: reject });
    });
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('resumes a tracked subscription after a dropped connection with no lost and no duplicate event', async () => {
    const { trpc, fixture } = await setup();
    const seen: string[] = [];
    let starts = 0;
    const sub = trpc.feed.subscribe({}, { onData: (e) => seen.push(e.id), onStarted: () => starts++ });
    await expect.poll(() => fixture.subscriberCount()).toBe(1);
    for (let i = 0; i < 5; i++) fixture.publish();
    await expect.poll(() => seen.length).toBe(5);
    dropConnections();
    for (let i = 0; i < 5; i++) fixture.publish(); // published while the client is away
    await expect.poll(() => fixture.subscriberCount(), { timeout: 5000 }).toBe(1);
    for (let i = 0; i < 5; i++) fixture.publish();
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(15);
    await sleep(50);
    expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => String(i + 1)));
    expect(starts).toBeGreaterThanOrEqual(1);
    sub.unsubscribe();
  });

  it('moves to a new socket on the reconnect notification: in-flight calls finish, events are neither lost nor duplicated', async () => {
    let n = 0;
    const { trpc, fixture, server: running } = await setup({ connectionParams: () => ({ token: `t${++n}` }) });
    const seen: string[] = [];
    const sub = trpc.feed.subscribe({}, { onData: (e) => seen.push(e.id) });
    await expect.poll(() => fixture.subscriberCount()).toBe(1);
    fixture.publish();
    await expect.poll(() => seen.length).toBe(1);
    const slow = trpc.slow.mutate({ key: 'k' });
    await sleep(20);
    running.broadcastReconnectNotification();
    // Publish through the switch: some events land while both sockets are subscribed.
    for (let i = 0; i < 30; i++) {
      fixture.publish();
      await sleep(2);
    }
    await expect.poll(() => running.sockets.open.length, { timeout: 5000 }).toBe(2);
    fixture.release('k');
    await expect(slow).resolves.toBe('done:k');
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(31);
    await expect.poll(() => running.sockets.open.length, { timeout: 5000 }).toBe(1);
    expect(await trpc.whoami.query()).toEqual({ token: 't2' });
    for (let i = 0; i < 3; i++) fixture.publish();
    await expect.poll(() => seen.length).toBe(34);
    await sleep(50);
    expect(seen).toEqual(Array.from({ length: 34 }, (_, i) => String(i + 1)));
    sub.unsubscribe();
  });

  it('closes a socket whose server never answers PING, then reconnects', async () => {
    const closes: number[] = [];
    const { trpc } = await setup(
      { keepAlive: { enabled: true, intervalMs: 50, pongTimeoutMs: 50 }, onClose: () => closes.push(Date.now()) },
      { dangerouslyDisablePong: true },
    );
    expect(await trpc.echo.query(1)).toBe(1);
    await expect.poll(() => closes.length, { timeout: 3000 }).toBeGreaterThanOrEqual(1);
    expect(await trpc.echo.query(2)).toBe(2);
  });

  it('creates its first socket after createWSClient has returned: `connection` is null until the URL has settled', async () => {
    const { server: running } = await setup({ lazy: { enabled: true, closeMs: 60_000 } });
    let opens = 0;
    const eager = makeClient(clientKind, { url: running.url, onOpen: () => opens++ });
    clients.push(eager);
    expect(eager.wsClient.connection).toBe(null);
    await expect.poll(() => opens).toBe(1);
    expect(eager.wsClient.connection).toMatchObject({ state: 'open' });
    expect(running.sockets.open.length).toBe(1);
  });

  it('opens a lazy socket after the call that wants it has returned: `connection` is null until the URL has settled', async () => {
    let opens = 0;
    const { trpc, client, fixture } = await setup({ lazy: { enabled: true, closeMs: 60_000 }, onOpen: () => opens++ });
    const sub = trpc.feed.subscribe({}, { onData: () => undefined });
    expect(client.wsClient.connection).toBe(null);
    expect(opens).toBe(0);
    await expect.poll(() => fixture.subscriberCount()).toBe(1);
    expect(opens).toBe(1);
    expect(client.wsClient.connection).toMatchObject({ state: 'open' });
    sub.unsubscribe();
  });

  it('opens lazily on the first call and closes after closeMs of idleness', async () => {
    const { trpc, server: running } = await setup({ lazy: { enabled: true, closeMs: 100 } });
    await sleep(50);
    expect(running.sockets.open.length).toBe(0);
    expect(await trpc.echo.query('lazy')).toBe('lazy');
    expect(running.sockets.open.length).toBe(1);
    await expect.poll(() => running.sockets.open.length, { timeout: 3000 }).toBe(0);
    expect(await trpc.echo.query('again')).toBe('again');
  });

  it('calls onComplete at once when a subscription is unsubscribed', async () => {
    const { trpc, fixture } = await setup();
    let completions = 0;
    const sub = trpc.feed.subscribe({}, { onComplete: () => completions++ });
    await expect.poll(() => fixture.subscriberCount()).toBe(1);
    sub.unsubscribe();
    expect(completions).toBe(1);
    await expect.poll(() => fixture.subscriberCount()).toBe(0);
    expect(completions).toBe(1);
  });

  it('rejects a mutation made in the tick of close() with "Closed before connection was established", unsent', async () => {
    const { trpc, client, fixture } = await setup();
    expect(await trpc.echo.query('open')).toBe('open');
    const mutation = trpc.slow.mutate({ key: 'same-tick' });
    const closing = client.close();
    await expect(mutation).rejects.toThrow('Closed before connection was established');
    await closing;
    expect(fixture.isWaiting('same-tick')).toBe(false); // it never reached the server
  });

  it('reports a lost socket in connectionState as "WebSocket closed"', async () => {
    const { trpc, client } = await setup({ retryDelayMs: () => 60_000 });
    expect(await trpc.echo.query('open')).toBe('open');
    dropConnections();
    await expect.poll(() => client.wsClient.connectionState.get().state).toBe('connecting');
    const { error } = client.wsClient.connectionState.get();
    expect(error?.message).toBe('WebSocket closed');
    expect((error?.cause as Error | undefined)?.message).toBe('WebSocket closed');
  });
});
