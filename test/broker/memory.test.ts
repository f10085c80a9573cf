import { afterEach, describe, expect, it } from 'vitest';
import { HistoryGapError, createMemoryBroker, parseEventId } from '../../src/broker/index.js';
import type { BrokerOptions, MemoryBroker } from '../../src/broker/index.js';
import { describeBrokerContract } from './contract.js';

describeBrokerContract('memory', (options) => createMemoryBroker(options), {
  sharedStore: false,
  subscriberCount: (broker, channel) => (broker as MemoryBroker).subscriberCount(channel),
  loseChannelData: async (broker, channel) => (broker as MemoryBroker).forget(channel),
});

describe('memory broker', () => {
  const brokers: MemoryBroker[] = [];
  const open = (options?: BrokerOptions) => {
    const broker = createMemoryBroker(options);
    brokers.push(broker);
    return broker;
  };
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((broker) => broker.close()));
  });

  it('hands every subscriber the same envelope object: nothing is copied or serialised per subscriber', async () => {
    const broker = open();
    const start = await broker.publish('shared', 0);
    const iterators = [1, 2, 3].map(() => broker.stream('shared', { lastEventId: start })[Symbol.asyncIterator]());
    const next = Promise.all(iterators.map((iterator) => iterator.next()));
    await broker.publish('shared', { big: 'payload' });
    const [a, b, c] = (await next).map((result) => result.value as unknown);
    expect(a).toBe(b);
    expect(b).toBe(c);
    await Promise.all(iterators.map((iterator) => iterator.return?.()));
    expect(broker.subscriberCount('shared')).toBe(0);
  });

  it('a live subscriber that falls more than historySize behind gets a gap, not a hole', async () => {
    const broker = open({ historySize: 5 });
    const start = await broker.publish('lag', 0);
    const iterator = broker.stream('lag', { lastEventId: start })[Symbol.asyncIterator]();
    const first = iterator.next();
    await broker.publish('lag', 1);
    expect((await first).value?.[1]).toBe(1);
    for (let n = 2; n <= 20; n += 1) await broker.publish('lag', n);
    const error = await iterator.next().then(() => null, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(HistoryGapError);
    expect((error as HistoryGapError).reason).toBe('evicted');
    expect(broker.subscriberCount('lag')).toBe(0);
  });

  it('a channel idle for metaTtlMs starts over in a new epoch, so its old ids resume as a gap', async () => {
    const broker = open({ historyTtlMs: 40, metaTtlMs: 80 });
    const old = await broker.publish('idle', 1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const fresh = await broker.publish('idle', 2);
    expect(parseEventId(fresh)?.offset).toBe(1);
    expect(parseEventId(fresh)?.epoch).not.toBe(parseEventId(old)?.epoch);
    const error = await broker.stream('idle', { lastEventId: old })[Symbol.asyncIterator]().next().then(
      () => null,
      (caught: unknown) => caught,
    );
    expect((error as HistoryGapError).reason).toBe('epoch');
  });

  it('forgets a channel nobody published to when its last reader leaves', async () => {
    const broker = open();
    const controllers = ['a', 'b', 'c'].map((name) => {
      const controller = new AbortController();
      void broker.stream(`unused-${name}`, { signal: controller.signal })[Symbol.asyncIterator]().next();
      return controller;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(broker.channelCount()).toBe(3);
    for (const controller of controllers) controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(broker.channelCount()).toBe(0);
    await broker.publish('kept', 1);
    expect(broker.channelCount()).toBe(1);
  });

  it('return() ends a waiting stream at once and releases it, with no signal to abort', async () => {
    const broker = open();
    await broker.publish('held', 1);
    const iterator = broker.stream('held')[Symbol.asyncIterator]();
    const waiting = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(broker.subscriberCount('held')).toBe(1);
    expect(await iterator.return?.()).toEqual({ done: true, value: undefined });
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(broker.subscriberCount('held')).toBe(0);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('answers next() calls made before the first is answered in order, one event each', async () => {
    const broker = open();
    const start = await broker.publish('queued', 0);
    const iterator = broker.stream('queued', { lastEventId: start })[Symbol.asyncIterator]();
    const pending = [iterator.next(), iterator.next(), iterator.next()];
    for (const value of [1, 2, 3]) await broker.publish('queued', value);
    expect((await Promise.all(pending)).map((result) => (result.value as readonly [string, unknown])[1])).toEqual([1, 2, 3]);
    await iterator.return?.();
  });

  it('throw() ends the stream, releases it and rejects with the error', async () => {
    const broker = open();
    await broker.publish('thrown', 1);
    const iterator = broker.stream('thrown')[Symbol.asyncIterator]();
    const waiting = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const error = new Error('consumer gave up');
    await expect(iterator.throw?.(error)).rejects.toBe(error);
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(broker.subscriberCount('thrown')).toBe(0);
  });

  it('rejects options outside their range with a RangeError naming the option', () => {
    expect(() => createMemoryBroker({ historySize: 0 })).toThrow(/historySize/);
    expect(() => createMemoryBroker({ recoveryLimit: 1.5 })).toThrow(/recoveryLimit/);
    expect(() => createMemoryBroker({ historyTtlMs: -1 })).toThrow(/historyTtlMs/);
    expect(() => createMemoryBroker({ historyTtlMs: 10_000, metaTtlMs: 1_000 })).toThrow(/metaTtlMs/);
  });

  it('rejects an empty channel name', async () => {
    const broker = open();
    await expect(broker.publish('', 1)).rejects.toThrow(TypeError);
  });
});
