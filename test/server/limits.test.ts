/** Per-connection bounds: subscriptions, calls in flight, and the send buffer of a slow reader. */
import type { Socket } from 'node:net';
import { initTRPC } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import { createTestRouter } from '../fixtures/router.js';
import { forId } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();
const subscribe = (id: number) => ({ id, method: 'subscription', params: { path: 'feed' } });

describe('per-connection limits answer TOO_MANY_REQUESTS and keep the socket', () => {
  it('refuses a subscription over maxSubscriptionsPerConnection until one ends', async () => {
    await raw.start({ router: createTestRouter().router, maxSubscriptionsPerConnection: 2 });
    const client = await raw.connect();
    client.send([subscribe(1), subscribe(2), subscribe(3)]);
    expect(await client.next(forId(3))).toMatchObject({
      error: { message: 'Too many subscriptions (max 2) on this connection', data: { code: 'TOO_MANY_REQUESTS' } },
    });
    client.send({ id: 1, method: 'subscription.stop' });
    client.send(subscribe(4));
    expect(await client.next((f) => forId(4)(f))).toEqual({ id: 4, result: { type: 'started' } });
  });

  it('refuses a query or mutation over maxConcurrentCallsPerConnection until one finishes', async () => {
    const fixture = createTestRouter();
    await raw.start({ router: fixture.router, maxConcurrentCallsPerConnection: 2 });
    const client = await raw.connect();
    const slow = (id: number) => ({ id, method: 'mutation', params: { path: 'slow', input: { key: `k${id}` } } });
    client.send([slow(1), slow(2), slow(3)]);
    expect(await client.next(forId(3))).toMatchObject({ error: { message: 'Too many calls in flight (max 2) on this connection', data: { code: 'TOO_MANY_REQUESTS' } } });
    // The gate exists once the procedure runs; release until the answer comes.
    const releaseUntilAnswered = async (id: number) => {
      await expect.poll(() => (fixture.release(`k${id}`), client.received.some(forId(id)))).toBe(true);
      expect(await client.next(forId(id))).toMatchObject({ result: { data: `done:k${id}` } });
    };
    await releaseUntilAnswered(1);
    client.send(slow(4));
    await releaseUntilAnswered(4);
  });
});

describe('a client that stops reading', () => {
  it('is closed with SlowConsumer (4507) once maxBufferedBytes wait to be sent', async () => {
    const t = initTRPC.create();
    const chunk = 'x'.repeat(100_000);
    let yielded = 0;
    const router = t.router({
      flood: t.procedure.subscription(async function* ({ signal }) {
        while (!signal?.aborted && yielded < 2_000) {
          yielded++;
          yield chunk;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    });
    const server = await raw.start({ router, maxBufferedBytes: 1_000_000 });
    const client = await raw.connect();
    const serverSide = server.sockets.open[0]!;
    const tcp = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    client.send({ id: 1, method: 'subscription', params: { path: 'flood' } });
    await expect.poll(() => serverSide.isClosing, { timeout: 10_000 }).toBe(true);
    const stoppedAt = yielded;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(yielded).toBe(stoppedAt); // the subscription was stopped with the connection
    tcp.resume();
    expect(await client.closed).toEqual({ code: CloseCode.SlowConsumer, reason: 'more than 1000000 bytes waiting to be sent' });
  });
});

describe('a client that floods PING and never reads', () => {
  /** `count` masked text frames "PING" (zero mask), as one buffer: a flood that costs the sender nothing. */
  function pings(count: number): Buffer {
    const one = Buffer.from([0x81, 0x84, 0, 0, 0, 0, 0x50, 0x49, 0x4e, 0x47]);
    return Buffer.concat(Array.from({ length: count }, () => one));
  }

  it('gets one PONG waiting for it, not one per PING: the server\'s send buffer stays bounded', async () => {
    const server = await raw.start({ router: createTestRouter().router });
    const flooder = await raw.connect();
    const good = await raw.connect();
    const serverSide = server.sockets.open[0]!;
    let pingsSeen = 0;
    serverSide.onMessage(() => void pingsSeen++);
    const tcp = (flooder.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();
    const chunk = pings(20_000);
    const total = 1_500_000;
    const heapBefore = process.memoryUsage().heapUsed;
    for (let sent = 0; sent < total; sent += 20_000) {
      if (!tcp.write(chunk)) await new Promise((resolve) => tcp.once('drain', resolve));
    }
    await expect.poll(() => pingsSeen, { timeout: 30_000, interval: 50 }).toBe(total);
    const buffered = serverSide.bufferedAmount;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    console.info(`${total} PINGs unread: server bufferedAmount ${buffered} bytes, heap growth ${(heapGrowth / 2 ** 20).toFixed(1)} MiB`);
    expect(buffered).toBeLessThan(1024);
    good.send({ id: 1, method: 'query', params: { path: 'echo', input: 'fine' } });
    expect(await good.next(forId(1))).toMatchObject({ result: { data: 'fine' } });
    tcp.resume();
    await expect.poll(() => flooder.received.length).toBeGreaterThan(0);
    expect(flooder.received.every((frame) => frame === 'PONG')).toBe(true);
    expect(flooder.received.length).toBeLessThan(total);
  });
});
