import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatEventId, parseEventId } from '../../src/broker/index.js';
import type { HistoryGap } from '../../src/broker/index.js';
import { channelKeys } from '../../src/broker/redis/keys.js';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import { BrokerPool, Collector, connectClient, eventually } from './redisHarness.js';
import type { DriverName, TestClient } from './redisHarness.js';

const redis = await findRedis();
const drivers: DriverName[] = ['node-redis', 'ioredis'];
/** Short, so a lost event shows up quickly; the waits below allow many intervals (CPU load). */
const INTERVAL_MS = 100;
const APPEND_ONLY = `
local offset = redis.call('HINCRBY', KEYS[1], 's', 1)
redis.call('XADD', KEYS[2], offset .. '-0', 'd', ARGV[1])
return { redis.call('HGET', KEYS[1], 'e'), offset }
`;

describe.skipIf(redis === null).each(drivers)('Redis broker position check (%s)', (driver) => {
  let client: TestClient;
  let pool: BrokerPool;
  const channel = () => `pos-${randomUUID()}`;

  /**
   * Appends an event as the publish script does (atomically, so a check never sees the offset without its
   * entry), but without its PUBLISH: a live message lost while the pub/sub connection stays up.
   */
  async function appendWithoutPublish(ch: string, data: unknown): Promise<string> {
    const keys = channelKeys(pool.prefix, ch);
    const reply = (await client.command(['EVAL', APPEND_ONLY, '2', keys.meta, keys.stream, JSON.stringify(data)])) as unknown[];
    return formatEventId(String(reply[0]), Number(reply[1]));
  }

  beforeAll(async () => {
    client = await connectClient(driver, redis?.url ?? '');
    pool = new BrokerPool(client, uniquePrefix(`position-${driver}`));
  });
  afterEach(async () => {
    await pool.closeAll();
  });
  afterAll(async () => {
    await client.close();
  });

  it('an event whose pub/sub message was lost reaches every local stream with no further publish, read once for all', async () => {
    const [publisher, node] = [pool.make(), pool.make({ positionCheckIntervalMs: INTERVAL_MS })];
    const ch = channel();
    const controller = new AbortController();
    const start = await publisher.publish(ch, 'start');
    const readers = [0, 1, 2].map(() => new Collector(node.stream(ch, { lastEventId: start, signal: controller.signal })));
    const live = await publisher.publish(ch, 'live');
    await eventually(() => readers.every((r) => r.events.length === 1), 'the live event');
    const lost = [await appendWithoutPublish(ch, { n: 1 }), await appendWithoutPublish(ch, { n: 2 })];
    await eventually(() => readers.every((r) => r.events.length === 3), 'the lost events, from the position check', 5_000);
    for (const reader of readers) {
      expect(reader.events).toEqual([
        [live, 'live'],
        [lost[0], { n: 1 }],
        [lost[1], { n: 2 }],
      ]);
    }
    // One read for the channel, handed to all its local streams: the very same parsed object (a read per
    // stream would parse each entry once per stream).
    expect(readers[1]?.data[1]).toBe(readers[0]?.data[1]);
    expect(readers[2]?.data[2]).toBe(readers[0]?.data[2]);
    // Live delivery goes on after the check, in order and without doubles.
    const next = await publisher.publish(ch, 'next');
    await eventually(() => readers.every((r) => r.events.length === 4), 'the next live event');
    for (const reader of readers) expect(reader.lastId).toBe(next);
    controller.abort();
    await Promise.all(readers.map((r) => r.done));
    expect(readers.map((r) => r.error)).toEqual([null, null, null]);
  });

  it('the channel data lost during a quiet period: the gap signal comes with no further publish', async () => {
    const [publisher, node] = [pool.make(), pool.make({ positionCheckIntervalMs: INTERVAL_MS })];
    const ch = channel();
    const controller = new AbortController();
    const gaps: HistoryGap[] = [];
    const start = await publisher.publish(ch, 'start');
    const reader = new Collector(
      node.stream(ch, {
        lastEventId: start,
        signal: controller.signal,
        onGap: (gap) => {
          gaps.push(gap);
          return 'snapshot';
        },
      }),
    );
    const first = await publisher.publish(ch, 'first');
    await eventually(() => reader.events.length === 1, 'the first event');
    await pool.loseChannelData(ch);
    await eventually(() => reader.events.length === 2, 'the gap signal, from the position check', 5_000);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]?.reason).toBe('epoch');
    expect(gaps[0]?.lastEventId).toBe(first);
    const position = parseEventId(gaps[0]?.position ?? '');
    expect(position?.epoch).not.toBe(parseEventId(first)?.epoch);
    expect(reader.events[1]).toEqual([gaps[0]?.position, 'snapshot']);
    // The next publish is in the new epoch and follows the gap's position directly.
    const after = await publisher.publish(ch, 'after');
    expect(parseEventId(after)).toEqual({ epoch: position?.epoch, offset: (position?.offset ?? 0) + 1 });
    await eventually(() => reader.events.length === 3, 'live again');
    expect(reader.events[2]).toEqual([after, 'after']);
    expect(gaps).toHaveLength(1);
    controller.abort();
    await reader.done;
    expect(reader.error).toBeNull();
  });

  it('positionCheckIntervalMs: 0 turns the check off; a negative or NaN interval is refused', async () => {
    const ch = channel();
    const node = pool.make({ positionCheckIntervalMs: 0 });
    const controller = new AbortController();
    const reader = new Collector(node.stream(ch, { lastEventId: await node.publish(ch, 'start'), signal: controller.signal }));
    await node.publish(ch, 'live');
    await eventually(() => reader.events.length === 1, 'the live event');
    await appendWithoutPublish(ch, 'lost');
    await new Promise((resolve) => setTimeout(resolve, 5 * INTERVAL_MS));
    expect(reader.data).toEqual(['live']);
    controller.abort();
    await reader.done;
    expect(() => pool.make({ positionCheckIntervalMs: -1 })).toThrow(RangeError);
    expect(() => pool.make({ positionCheckIntervalMs: Number.NaN })).toThrow(RangeError);
    expect(() => pool.make({ positionCheckIntervalMs: Infinity })).not.toThrow();
  });
});
