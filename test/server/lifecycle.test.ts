import { EventEmitter, on } from 'node:events';
import { initTRPC, tracked } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import { createTestRouter } from '../fixtures/router.js';
import { forId } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();
const connect = (query = '') => raw.connect(query);

const subscribe = (id: number | string, path = 'feed', input?: unknown) => ({ id, method: 'subscription', params: { path, input } });

describe('subscriptions', () => {
  it('answers subscription.stop with stopped and frees the id at once', async () => {
    const fixture = createTestRouter();
    await raw.start({ router: fixture.router });
    const client = await connect();
    client.send(subscribe(7));
    expect(await client.next(forId(7))).toEqual({ id: 7, result: { type: 'started' } });
    client.send({ id: 7, method: 'subscription.stop' });
    expect(await client.next(forId(7))).toEqual({ id: 7, result: { type: 'stopped' } });
    client.send(subscribe(7));
    expect(await client.next(forId(7))).toEqual({ id: 7, result: { type: 'started' } });
    await expect.poll(() => fixture.subscriberCount()).toBe(1);
  });

  it('streams an observable and says stopped when it completes', async () => {
    await raw.start({ router: createTestRouter().router });
    const client = await connect();
    client.send(subscribe('t', 'ticks', { count: 3 }));
    expect(await client.next(forId('t'))).toEqual({ id: 't', result: { type: 'started' } });
    for (const n of [1, 2, 3]) expect(await client.next(forId('t'))).toEqual({ id: 't', result: { type: 'data', data: n } });
    expect(await client.next(forId('t'))).toEqual({ id: 't', result: { type: 'stopped' } });
  });

  it('sends the error then stopped when a stream throws, as stock does', async () => {
    await raw.start({ router: createTestRouter().router });
    const client = await connect();
    client.send(subscribe(1, 'brokenStream'));
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'started' } });
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'data', data: 1 } });
    expect(await client.next(forId(1))).toMatchObject({ error: { message: 'stream broke', data: { code: 'CONFLICT' } } });
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'stopped' } });
  });

  it('passes lastEventId into the input so a resumed feed replays only what was missed', async () => {
    const fixture = createTestRouter();
    await raw.start({ router: fixture.router });
    for (let i = 0; i < 4; i++) fixture.publish(`m${i}`);
    const client = await connect();
    client.send({ id: 1, method: 'subscription', params: { path: 'feed', lastEventId: '2' } });
    await client.next(forId(1));
    expect(await client.next(forId(1))).toMatchObject({ result: { id: '3' } });
    expect(await client.next(forId(1))).toMatchObject({ result: { id: '4' } });
  });

  it('stops every subscription when the socket closes', async () => {
    const fixture = createTestRouter();
    await raw.start({ router: fixture.router });
    const client = await connect();
    client.send([subscribe(1), subscribe(2)]);
    await client.next(forId(1));
    await client.next(forId(2));
    expect(fixture.subscriberCount()).toBe(2);
    client.ws.terminate();
    await expect.poll(() => fixture.subscriberCount()).toBe(0);
  });
});

describe('a broadcast value is serialised once and still correct for every subscriber', () => {
  function broadcastRouter() {
    const t = initTRPC.create();
    const ee = new EventEmitter();
    const router = t.router({
      live: t.procedure.subscription(async function* ({ signal }) {
        for await (const [value] of on(ee, 'v', { signal }) as AsyncIterable<[unknown]>) yield value;
      }),
      liveTracked: t.procedure.subscription(async function* ({ signal }) {
        for await (const [id, value] of on(ee, 'tv', { signal }) as AsyncIterable<[string, unknown]>) yield tracked(id, value);
      }),
    });
    return { router, ee };
  }

  it('gives subscribers with different ids frames with their own id', async () => {
    const { router, ee } = broadcastRouter();
    await raw.start({ router });
    const a = await connect();
    const b = await connect();
    a.send(subscribe(1, 'live'));
    b.send(subscribe('x', 'live'));
    await a.next(forId(1));
    await b.next(forId('x'));
    const value = Object.freeze({ n: 1 });
    ee.emit('v', value);
    ee.emit('tv', 'e1', value);
    expect(await a.next(forId(1))).toEqual({ id: 1, result: { type: 'data', data: { n: 1 } } });
    expect(await b.next(forId('x'))).toEqual({ id: 'x', result: { type: 'data', data: { n: 1 } } });
  });

  it('gives two subscribers with the same id the same bytes, and a tracked event its own id', async () => {
    const { router, ee } = broadcastRouter();
    await raw.start({ router });
    const a = await connect();
    const b = await connect();
    a.send([subscribe(1, 'live'), subscribe(2, 'liveTracked')]);
    b.send([subscribe(1, 'live'), subscribe(2, 'liveTracked')]);
    for (const c of [a, b]) for (const id of [1, 2]) await c.next(forId(id));
    const value = Object.freeze({ n: 2 });
    ee.emit('v', value);
    ee.emit('tv', 'e1', value);
    ee.emit('tv', 'e2', value);
    for (const c of [a, b]) {
      expect(await c.next(forId(1))).toEqual({ id: 1, result: { type: 'data', data: { n: 2 } } });
      expect(await c.next(forId(2))).toEqual({ id: 2, result: { type: 'data', id: 'e1', data: { id: 'e1', data: { n: 2 } } } });
      expect(await c.next(forId(2))).toEqual({ id: 2, result: { type: 'data', id: 'e2', data: { id: 'e2', data: { n: 2 } } } });
    }
  });

  it('serialises a mutable (not frozen) object afresh on every send', async () => {
    const { router, ee } = broadcastRouter();
    await raw.start({ router });
    const a = await connect();
    a.send(subscribe(1, 'live'));
    await a.next(forId(1));
    const state = { n: 1 };
    ee.emit('v', state);
    expect(await a.next(forId(1))).toMatchObject({ result: { data: { n: 1 } } });
    state.n = 2;
    ee.emit('v', state);
    expect(await a.next(forId(1))).toMatchObject({ result: { data: { n: 2 } } });
  });
});

describe('connection-level frames', () => {
  it('sends lanyard.hello first to a client that put lanyard=1 in its URL, and nothing to others', async () => {
    await raw.start({ router: createTestRouter().router, maxPayloadBytes: 4096 });
    const ours = await connect('?lanyard=1');
    expect(await ours.next()).toEqual({ id: null, method: 'lanyard.hello', params: { version: 1, maxPayloadBytes: 4096, maxBatchSize: 1000 } });
    const stock = await connect();
    stock.send({ id: 1, method: 'query', params: { path: 'echo', input: 1 } });
    await stock.next(forId(1));
    expect(stock.received).toEqual([]);
  });

  it('answers PING with PONG unless dangerouslyDisablePong', async () => {
    await raw.start({ router: createTestRouter().router });
    const client = await connect();
    client.sendText('PING');
    expect(await client.next()).toBe('PONG');
    await raw.start({ router: createTestRouter().router, dangerouslyDisablePong: true });
    const mute = await connect();
    mute.sendText('PING');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(mute.received).toEqual([]);
  });

  it('pings a quiet client and terminates it when nothing comes back', async () => {
    await raw.start({ router: createTestRouter().router, keepAlive: { enabled: true, pingMs: 60, pongWaitMs: 60 } });
    const client = await connect();
    expect(await client.next((f) => f === 'PING', 1000)).toBe('PING');
    expect((await client.closed).code).toBe(1006);
  });

  it('keeps a client that answers its pings', async () => {
    await raw.start({ router: createTestRouter().router, keepAlive: { enabled: true, pingMs: 40, pongWaitMs: 40 } });
    const client = await connect();
    client.ws.on('message', (data) => {
      if (data.toString() === 'PING') client.sendText('PONG');
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(client.received.filter((f) => f === 'PING').length).toBeGreaterThanOrEqual(2);
  });

  it('close() ends every connection with GoingAway (1001)', async () => {
    await raw.start({ router: createTestRouter().router });
    const a = await connect();
    const b = await connect();
    await raw.server.close();
    expect((await a.closed).code).toBe(CloseCode.GoingAway);
    expect((await b.closed).code).toBe(CloseCode.GoingAway);
  });

  it('survives an errorFormatter and an onError that throw, answering with the fallback shape', async () => {
    const t = initTRPC.create({
      errorFormatter: () => {
        throw new Error('formatter broke');
      },
    });
    const router = t.router({ boom: t.procedure.query(() => Promise.reject(new Error('boom'))) });
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      await raw.start({
        router,
        onError: () => {
          throw new Error('onError broke');
        },
      });
      const client = await connect();
      client.send({ id: 1, method: 'query', params: { path: 'boom' } });
      expect(await client.next(forId(1))).toEqual({
        id: 1,
        error: { code: -32603, message: 'Internal server error', data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 } },
      });
      expect(errors.length).toBe(2);
    } finally {
      console.error = original;
    }
  });
});

describe('queries and mutations', () => {
  it('give each call its own signal, aborted when the connection ends', async () => {
    const t = initTRPC.create();
    const signals: AbortSignal[] = [];
    const releases: Array<() => void> = [];
    const router = t.router({
      hold: t.procedure.query(async ({ signal }) => {
        signals.push(signal!);
        await new Promise<void>((resolve) => releases.push(resolve));
        return 'held';
      }),
    });
    await raw.start({ router });
    const client = await connect();
    client.send([1, 2, 3].map((id) => ({ id, method: 'query', params: { path: 'hold' } })));
    await expect.poll(() => signals.length).toBe(3);
    expect(new Set(signals).size).toBe(3);
    releases[0]!();
    expect(await client.next(forId(1))).toMatchObject({ result: { data: 'held' } });
    expect(signals.map((signal) => signal.aborted)).toEqual([false, false, false]);
    client.ws.terminate();
    await expect.poll(() => signals.map((signal) => signal.aborted)).toEqual([false, true, true]);
  });
});
