import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HistoryGapError, parseEventId } from '../../src/broker/index.js';
import type { HistoryGap } from '../../src/broker/index.js';
import { RedisBrokerError } from '../../src/broker/redis/index.js';
import type { RedisBroker } from '../../src/broker/redis/index.js';
import { findRedis, hasRedisServerBinary, startOwnRedisServer, uniquePrefix } from '../fixtures/redis.js';
import { describeBrokerContract } from './contract.js';
import { BrokerPool, Collector, connectClient, eventually, range } from './redisHarness.js';
import type { DriverName, TestClient } from './redisHarness.js';

const redis = await findRedis();
const drivers: DriverName[] = ['node-redis', 'ioredis'];

// The contract every backend meets, once per driver; the brokers of one pool share a prefix (nodes of one cluster).
for (const driver of drivers) {
  describe.skipIf(redis === null)(`Redis contract (${driver})`, () => {
    let pool: BrokerPool | undefined;
    const getPool = async (): Promise<BrokerPool> => {
      pool ??= new BrokerPool(await connectClient(driver, redis?.url ?? ''), uniquePrefix(`contract-${driver}`));
      return pool;
    };
    afterAll(async () => {
      await pool?.closeAll();
      await pool?.client.close();
    });
    describeBrokerContract(driver, async (options) => (await getPool()).make(options), {
      sharedStore: true,
      loseChannelData: async (_broker, channel) => (await getPool()).loseChannelData(channel),
      subscriberCount: (broker, channel) => (broker as RedisBroker).subscriberCount(channel),
    });
  });
}

describe.skipIf(redis === null).each(drivers)('Redis broker (%s)', (driver) => {
  let client: TestClient;
  let pool: BrokerPool;
  const url = redis?.url ?? '';
  const channel = () => `ch-${randomUUID()}`;

  beforeAll(async () => {
    client = await connectClient(driver, url);
    pool = new BrokerPool(client, uniquePrefix(driver));
  });
  afterEach(async () => {
    await pool.closeAll();
  });
  afterAll(async () => {
    await client.close();
  });

  it('delivers live events to a stream on another node, and resumes there from any id', async () => {
    const [a, b] = [pool.make(), pool.make()];
    const ch = channel();
    const controller = new AbortController();
    const start = await a.publish(ch, 'start');
    const live = new Collector(b.stream(ch, { lastEventId: start, signal: controller.signal }));
    // The stream's first read may still be running: publish, then check nothing is missing or doubled.
    const ids: string[] = [];
    for (const n of range(1, 20)) ids.push(await a.publish(ch, { n }));
    await eventually(() => live.events.length >= 20, `20 live events (${JSON.stringify(live.events)} ${String(live.error)})`);
    expect(live.data).toEqual(range(1, 20).map((n) => ({ n })));
    expect(live.events.map(([id]) => id)).toEqual(ids);
    const resumed = new Collector(a.stream(ch, { lastEventId: ids[4], signal: controller.signal }));
    await eventually(() => resumed.events.length >= 15, 'the replay');
    expect(resumed.events.map(([id]) => id)).toEqual(ids.slice(5));
    controller.abort();
    await Promise.all([live.done, resumed.done]);
    expect([live.error, resumed.error]).toEqual([null, null]);
  });

  it('a resume from further back than historySize is a gap, with nothing replayed', async () => {
    const broker = pool.make({ historySize: 5, recoveryLimit: 100 });
    const ch = channel();
    const first = await broker.publish(ch, 1);
    for (const n of range(2, 12)) await broker.publish(ch, n);
    const reader = new Collector(broker.stream(ch, { lastEventId: first }));
    await reader.done;
    expect(reader.events).toEqual([]);
    expect(reader.error).toBeInstanceOf(HistoryGapError);
    expect((reader.error as HistoryGapError).reason).toBe('evicted');
    // Within the window it still resumes exactly.
    const ids = await Promise.all([broker.publish(ch, 13)]);
    const within = new Collector(broker.stream(ch, { lastEventId: formatPrevious(ids[0] ?? '', 4) }));
    await eventually(() => within.events.length >= 4, 'the last 4 events');
    expect(within.data).toEqual([10, 11, 12, 13]);
  });

  it('the channel keys deleted mid-stream: a gap (epoch), then live again after the snapshot', async () => {
    const broker = pool.make();
    const ch = channel();
    const controller = new AbortController();
    const gaps: HistoryGap[] = [];
    const before = await broker.publish(ch, 'a');
    const reader = new Collector(
      broker.stream(ch, {
        lastEventId: before,
        signal: controller.signal,
        onGap: (gap) => {
          gaps.push(gap);
          return 'snapshot';
        },
      }),
    );
    const first = await broker.publish(ch, 'first');
    await eventually(() => reader.events.length === 1, 'the first event');
    await pool.loseChannelData(ch);
    const after = await broker.publish(ch, 'b');
    expect(parseEventId(after)?.epoch).not.toBe(parseEventId(before)?.epoch);
    await eventually(() => reader.events.length >= 2, 'the snapshot');
    const third = await broker.publish(ch, 'c');
    await eventually(() => reader.events.length >= 3, 'live again');
    expect(gaps).toEqual([{ channel: ch, reason: 'epoch', lastEventId: first, position: after }]);
    expect(reader.events).toEqual([
      [first, 'first'],
      [after, 'snapshot'],
      [third, 'c'],
    ]);
    controller.abort();
    await reader.done;
    expect(reader.error).toBeNull();
  });

  it('without an onGap hook, lost data mid-stream ends the stream with HistoryGapError', async () => {
    const broker = pool.make();
    const ch = channel();
    const reader = new Collector(broker.stream(ch, { lastEventId: await broker.publish(ch, 'start') }));
    await broker.publish(ch, 'a');
    await eventually(() => reader.events.length === 1, 'the first event');
    await pool.loseChannelData(ch);
    await broker.publish(ch, 'b');
    await reader.done;
    expect(reader.data).toEqual(['a']);
    expect((reader.error as HistoryGapError).reason).toBe('epoch');
  });

  it('a retried publish with the same idempotencyKey appends once and returns the first id', async () => {
    const broker = pool.make();
    const other = pool.make();
    const ch = channel();
    const reader = new Collector(broker.stream(ch, { lastEventId: await broker.publish(ch, 'start') }));
    const [first, second] = await Promise.all([
      broker.publish(ch, 'x', { idempotencyKey: 'k1' }),
      other.publish(ch, 'x', { idempotencyKey: 'k1' }),
    ]);
    expect(second).toBe(first);
    expect(await other.publish(ch, 'x', { idempotencyKey: 'k1' })).toBe(first);
    // The key is per channel.
    expect(parseEventId(await broker.publish(channel(), 'x', { idempotencyKey: 'k1' }))?.offset).toBe(1);
    const next = await broker.publish(ch, 'y', { idempotencyKey: 'k2' });
    expect(parseEventId(next)?.offset).toBe((parseEventId(first)?.offset ?? 0) + 1);
    await eventually(() => reader.events.length >= 2, 'two events');
    expect(reader.data).toEqual(['x', 'y']);
  });

  it('100 local streams of a channel cost one Redis subscription, released when they end', async () => {
    const broker = pool.make();
    const ch = channel();
    const controller = new AbortController();
    setMaxListeners(100, controller.signal);
    const readers = range(1, 100).map(() => new Collector(broker.stream(ch, { signal: controller.signal })));
    await eventually(() => broker.subscriberCount(ch) === 100, '100 local streams');
    await eventually(async () => (await pool.redisSubscriptions(ch)) === 1, 'the SUBSCRIBE');
    expect(await pool.redisSubscriptions(ch)).toBe(1);
    // Every stream finished its first read before this publish is counted.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await broker.publish(ch, 'one');
    await eventually(() => readers.every((r) => r.events.length === 1), 'every stream got the event');
    expect(await pool.redisSubscriptions(ch)).toBe(1);
    controller.abort();
    await Promise.all(readers.map((r) => r.done));
    expect(broker.subscriberCount(ch)).toBe(0);
    await eventually(async () => (await pool.redisSubscriptions(ch)) === 0, 'the UNSUBSCRIBE');
  });

  it('the pub/sub connection killed (CLIENT KILL TYPE pubsub) mid-stream: no event lost, none twice', async () => {
    const [a, b] = [pool.make(), pool.make()];
    const ch = channel();
    const controller = new AbortController();
    const start = await a.publish(ch, 0);
    const reader = new Collector(b.stream(ch, { lastEventId: start, signal: controller.signal }));
    const total = 200;
    for (const n of range(1, total)) {
      await a.publish(ch, n);
      if (n === 60 || n === 140) await client.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      if (n % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await eventually(() => reader.events.length >= total, `${total} events`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reader.data).toEqual(range(1, total));
    controller.abort();
    await reader.done;
    expect(reader.error).toBeNull();
  });

  it('a publish storm while streams resubscribe on other nodes: every event once, in order', async () => {
    const nodes = [pool.make(), pool.make(), pool.make()];
    const ch = channel();
    const start = await nodes[0]?.publish(ch, 0);
    const total = 400;
    const readers = range(1, 8).map(async (r) => {
      const got: [string, unknown][] = [];
      let last = start;
      for (let round = 0; got.length < total; round += 1) {
        const node = nodes[(r + round) % nodes.length];
        if (!node) throw new Error('no node');
        const quota = 5 + ((r * 7 + round * 13) % 40);
        let taken = 0;
        for await (const [id, data] of node.stream(ch, { lastEventId: last })) {
          got.push([id, data]);
          last = id;
          taken += 1;
          if (taken >= quota || got.length >= total) break;
        }
      }
      return got;
    });
    const publisher = (async () => {
      const ids: string[] = [];
      for (const n of range(1, total)) {
        ids.push(await (nodes[n % nodes.length] as (typeof nodes)[number]).publish(ch, n));
        if (n === 200) await client.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      }
      return ids;
    })();
    const [ids, ...results] = await Promise.all([publisher, ...readers]);
    for (const got of results) {
      expect(got.map(([id]) => id)).toEqual(ids);
      expect(got.map(([, data]) => data)).toEqual(range(1, total));
    }
  });

  it('a live event is parsed once per node: every local stream yields the same envelope object', async () => {
    const broker = pool.make();
    const ch = channel();
    const start = await broker.publish(ch, 0);
    const iterators = [1, 2, 3].map(() => broker.stream(ch, { lastEventId: start })[Symbol.asyncIterator]());
    // Their first reads are done once each stream holds the first event; the next one comes over pub/sub.
    const first = Promise.all(iterators.map((iterator) => iterator.next()));
    await broker.publish(ch, { n: 1 });
    await first;
    const next = Promise.all(iterators.map((iterator) => iterator.next()));
    await broker.publish(ch, { n: 2 });
    const [x, y, z] = (await next).map((result) => result.value as unknown);
    expect(x).toEqual(y);
    expect(x).toBe(y);
    expect(y).toBe(z);
    await Promise.all(iterators.map((iterator) => iterator.return?.()));
  });

  it('publish rejects with RedisBrokerError when Redis refuses the script', async () => {
    const broker = pool.make();
    const ch = channel();
    await client.command(['SET', `{${pool.prefix}:${ch}}:meta`, 'not a hash']);
    await expect(broker.publish(ch, 1)).rejects.toBeInstanceOf(RedisBrokerError);
    await expect(broker.publish(ch, 1)).rejects.toThrow(/publish to "ch-.*" failed: WRONGTYPE/);
  });
});

describe.skipIf(redis === null || !hasRedisServerBinary()).each(drivers)('Redis broker (%s) across a Redis restart', (driver) => {
  it('Redis down: publish rejects clearly, the stream stays open and resumes with a gap once Redis is back empty', async () => {
    const server = await startOwnRedisServer();
    const client = await connectClient(driver, `redis://127.0.0.1:${server.port}`);
    const pool = new BrokerPool(client, uniquePrefix(`restart-${driver}`));
    try {
      const broker = pool.make();
      const ch = `ch-${randomUUID()}`;
      const gaps: HistoryGap[] = [];
      const controller = new AbortController();
      const start = await broker.publish(ch, 0);
      const reader = new Collector(
        broker.stream(ch, {
          lastEventId: start,
          signal: controller.signal,
          onGap: (gap) => {
            gaps.push(gap);
            return 'reloaded';
          },
        }),
      );
      await broker.publish(ch, 1);
      await eventually(() => reader.events.length === 1, 'the first event');
      await server.stop();
      await eventually(
        () => broker.publish(ch, 'lost').then(() => false, (error: unknown) => error instanceof RedisBrokerError),
        'publish rejects with RedisBrokerError',
      );
      await expect(broker.publish(ch, 'lost')).rejects.toThrow(/trpc-lanyard\/broker: .*publish to "ch-/);
      expect(reader.ended).toBe(false);
      await server.start();
      await eventually(() => reader.events.length === 2, 'the gap snapshot after the restart');
      expect(gaps).toMatchObject([{ reason: 'epoch', lastEventId: reader.events[0]?.[0] }]);
      expect(reader.events[1]?.[1]).toBe('reloaded');
      let last = '';
      await eventually(async () => {
        last = await broker.publish(ch, 'live').catch(() => '');
        return last !== '';
      }, 'publish works again');
      await eventually(() => reader.events.length === 3, 'live again');
      expect(reader.events[2]).toEqual([last, 'live']);
      controller.abort();
      await reader.done;
      expect(reader.error).toBeNull();
    } finally {
      await pool.closeAll();
      await client.close();
      await server.stop();
    }
  });
});

/** The id `back` events before `id` (same epoch). */
function formatPrevious(id: string, back: number): string {
  const position = parseEventId(id);
  if (!position) throw new Error(`not an id: ${id}`);
  return `${position.epoch}.${position.offset - back}`;
}
