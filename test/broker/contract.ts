import { randomUUID } from 'node:crypto';
import type { TrackedEnvelope } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerOptions, HistoryGap } from '../../src/broker/index.js';
import {
  BrokerClosedError,
  HistoryGapError,
  MalformedEventIdError,
  formatEventId,
  isHistoryGapError,
  parseEventId,
} from '../../src/broker/index.js';

/** Abilities a backend's test file lends the suite; a missing one skips its tests. */
export interface BrokerContractHooks {
  /** Makes the store lose `channel`'s history and meta (Redis: delete its keys; memory: `forget`). */
  loseChannelData?: (broker: Broker, channel: string) => Promise<void>;
  /** Streams currently reading `channel` on `broker` (checks that abort leaks nothing). */
  subscriberCount?: (broker: Broker, channel: string) => number;
  /**
   * True when two brokers from `makeBroker` share one store (nodes of a cluster): a stream on
   * one resumes the other's ids exactly. False: each broker is its own store, so the other's
   * ids are a foreign epoch and resume as a gap.
   */
  sharedStore: boolean;
}

export type MakeBroker = (options?: BrokerOptions) => Promise<Broker> | Broker;

type Event = readonly [id: string, data: unknown];

/** Pulls events from a stream, one `next()` at a time, so tests can interleave publishes. */
class Reader {
  readonly events: Event[] = [];
  private readonly iterator: AsyncIterator<TrackedEnvelope<unknown>>;
  constructor(iterable: AsyncIterable<TrackedEnvelope<unknown>>) {
    this.iterator = iterable[Symbol.asyncIterator]();
  }
  async next(): Promise<Event | 'done'> {
    const result = await this.iterator.next();
    if (result.done === true) return 'done';
    const event: Event = [result.value[0], result.value[1]];
    this.events.push(event);
    return event;
  }
  /** Reads until `count` events arrived in total. */
  async take(count: number): Promise<Event[]> {
    while (this.events.length < count) {
      if ((await this.next()) === 'done') throw new Error(`stream ended after ${this.events.length} events`);
    }
    return this.events;
  }
  async stop(): Promise<void> {
    await this.iterator.return?.();
  }
}

const data = (events: readonly Event[]) => events.map(([, value]) => value);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const until = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function publishAll(broker: Broker, channel: string, values: readonly number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const value of values) ids.push(await broker.publish(channel, value));
  return ids;
}

/** Reads the first event of a stream started without lastEventId, publishing probes until one arrives. */
async function liveReader(broker: Broker, channel: string, signal?: AbortSignal): Promise<Reader> {
  const reader = new Reader(broker.stream(channel, { signal }));
  const first = reader.next();
  let arrived = false;
  void first.then(() => (arrived = true), () => (arrived = true));
  while (!arrived) {
    await broker.publish(channel, 'probe');
    await until(10);
  }
  await first;
  return reader;
}

async function expectGap(iterable: AsyncIterable<TrackedEnvelope<unknown>>, reason: HistoryGap['reason']) {
  const reader = new Reader(iterable);
  const error = await reader.next().then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(reader.events, 'no partial replay before the gap').toEqual([]);
  expect(error).toBeInstanceOf(HistoryGapError);
  expect((error as HistoryGapError).reason).toBe(reason);
  expect((error as HistoryGapError).code).toBe('PRECONDITION_FAILED');
  expect(isHistoryGapError(error)).toBe(true);
}

/** The behaviour every `Broker` backend must have (run by test/broker/<backend>.test.ts). */
export function describeBrokerContract(name: string, makeBroker: MakeBroker, hooks: BrokerContractHooks): void {
  describe(`Broker contract: ${name}`, () => {
    const opened: Broker[] = [];
    const open = async (options?: BrokerOptions) => {
      const broker = await makeBroker(options);
      opened.push(broker);
      return broker;
    };
    const channel = () => `contract-${randomUUID()}`;
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((broker) => broker.close()));
    });

    it('publish returns contiguous <epoch>.<offset> ids of one epoch', async () => {
      const broker = await open();
      const ids = await publishAll(broker, channel(), range(1, 5));
      const positions = ids.map((id) => parseEventId(id));
      expect(positions.every((p) => p !== null && p.epoch === positions[0]?.epoch)).toBe(true);
      const offsets = positions.map((p) => p?.offset ?? NaN);
      expect(offsets.slice(1).map((o, i) => o - (offsets[i] ?? NaN))).toEqual([1, 1, 1, 1]);
    });

    it('a stream without lastEventId delivers the events published after it, in order, once', async () => {
      const broker = await open();
      const ch = channel();
      const reader = await liveReader(broker, ch);
      const start = reader.events.length;
      await publishAll(broker, ch, range(1, 50));
      const events = await reader.take(start + 50);
      expect(data(events.slice(start))).toEqual(range(1, 50));
      await reader.stop();
    });

    it('resumes after any id in the window with none missed and none twice', async () => {
      const broker = await open();
      const ch = channel();
      const ids = await publishAll(broker, ch, range(1, 20));
      for (const k of [1, 7, 19]) {
        const reader = new Reader(broker.stream(ch, { lastEventId: ids[k - 1] }));
        const events = await reader.take(20 - k);
        expect(data(events)).toEqual(range(k + 1, 20));
        expect(events.map(([id]) => id)).toEqual(ids.slice(k));
        await reader.stop();
      }
    });

    it('resuming from the newest id replays nothing and continues live', async () => {
      const broker = await open();
      const ch = channel();
      const ids = await publishAll(broker, ch, range(1, 3));
      const reader = new Reader(broker.stream(ch, { lastEventId: ids[2] }));
      const next = reader.take(1);
      await broker.publish(ch, 4);
      expect(data(await next)).toEqual([4]);
      await reader.stop();
    });

    it('events published while a stream catches up arrive once, after the replay, in order', async () => {
      const broker = await open();
      const ch = channel();
      const ids = await publishAll(broker, ch, range(1, 200));
      const reader = new Reader(broker.stream(ch, { lastEventId: ids[49] }));
      const reading = reader.take(350);
      await publishAll(broker, ch, range(201, 400));
      expect(data(await reading)).toEqual(range(51, 400));
      await reader.stop();
    });

    it('many subscribers of one channel each get every event once', async () => {
      const broker = await open();
      const ch = channel();
      const [first] = await publishAll(broker, ch, [0]);
      const readers = Array.from({ length: 20 }, () => new Reader(broker.stream(ch, { lastEventId: first })));
      const reading = Promise.all(readers.map((reader) => reader.take(30)));
      await publishAll(broker, ch, range(1, 30));
      for (const events of await reading) expect(data(events)).toEqual(range(1, 30));
      await Promise.all(readers.map((reader) => reader.stop()));
    });

    it('a resume beyond historySize fails with a gap, replaying nothing', async () => {
      const broker = await open({ historySize: 5 });
      const ch = channel();
      const ids = await publishAll(broker, ch, range(1, 10));
      await expectGap(broker.stream(ch, { lastEventId: ids[3] }), 'evicted');
      const reader = new Reader(broker.stream(ch, { lastEventId: ids[4] }));
      expect(data(await reader.take(5))).toEqual(range(6, 10));
      await reader.stop();
    });

    it('a resume of more than recoveryLimit events fails with a gap', async () => {
      const broker = await open({ recoveryLimit: 3 });
      const ch = channel();
      const ids = await publishAll(broker, ch, range(1, 10));
      await expectGap(broker.stream(ch, { lastEventId: ids[5] }), 'recovery-limit');
      const reader = new Reader(broker.stream(ch, { lastEventId: ids[6] }));
      expect(data(await reader.take(3))).toEqual(range(8, 10));
      await reader.stop();
    });

    it('a resume after historyTtlMs fails with a gap, while the newest id still continues live', async () => {
      const historyTtlMs = 150;
      const broker = await open({ historyTtlMs });
      const ch = channel();
      const ids = await publishAll(broker, ch, range(1, 3));
      await until(historyTtlMs * 4);
      await expectGap(broker.stream(ch, { lastEventId: ids[0] }), 'evicted');
      const reader = new Reader(broker.stream(ch, { lastEventId: ids[2] }));
      const next = reader.take(1);
      await broker.publish(ch, 4);
      expect(data(await next)).toEqual([4]);
      await reader.stop();
    });

    it('an id of a foreign epoch, or beyond the newest offset, fails with an epoch gap', async () => {
      const broker = await open();
      const ch = channel();
      const [id] = await publishAll(broker, ch, [1]);
      await expectGap(broker.stream(ch, { lastEventId: formatEventId('foreignEpoch', 1) }), 'epoch');
      const epoch = parseEventId(id ?? '')?.epoch ?? '';
      await expectGap(broker.stream(ch, { lastEventId: formatEventId(epoch, 5) }), 'epoch');
    });

    it('onGap yields a snapshot at the current position, then continues live with no gap', async () => {
      const broker = await open({ historySize: 2 });
      const ch = channel();
      const ids = await publishAll(broker, ch, range(1, 5));
      const gaps: HistoryGap[] = [];
      const stream = broker.stream<number, string>(ch, {
        lastEventId: ids[0],
        onGap: async (gap) => {
          gaps.push(gap);
          await broker.publish(ch, 6); // published while the snapshot is built: still delivered
          return 'snapshot';
        },
      });
      const reader = new Reader(stream);
      const first = await reader.take(1);
      expect(first[0]).toEqual([ids[4], 'snapshot']);
      expect(gaps).toEqual([{ channel: ch, reason: 'evicted', lastEventId: ids[0], position: ids[4] }]);
      const next = reader.take(3);
      await broker.publish(ch, 7);
      expect(data(await next)).toEqual(['snapshot', 6, 7]);
      await reader.stop();
    });

    it('onGap on a channel without events yields the snapshot at <epoch>.0', async () => {
      const broker = await open();
      const ch = channel();
      const reader = new Reader(
        broker.stream(ch, { lastEventId: formatEventId('foreignEpoch', 3), onGap: () => 'empty' }),
      );
      const [[id, value] = ['', null]] = await reader.take(1);
      expect(value).toBe('empty');
      expect(parseEventId(id)?.offset).toBe(0);
      const next = reader.take(2);
      const published = await broker.publish(ch, 1);
      expect((await next)[1]).toEqual([published, 1]);
      await reader.stop();
    });

    it('a publish retried with the same idempotencyKey appends nothing and returns the first id', async () => {
      const broker = await open();
      const ch = channel();
      const [before] = await publishAll(broker, ch, [0]);
      const first = await broker.publish(ch, 1, { idempotencyKey: 'k1' });
      const retried = await broker.publish(ch, 1, { idempotencyKey: 'k1' });
      const other = await broker.publish(ch, 2, { idempotencyKey: 'k2' });
      const elsewhere = await broker.publish(channel(), 1, { idempotencyKey: 'k1' });
      expect(retried).toBe(first);
      expect(other).not.toBe(first);
      expect(parseEventId(elsewhere)?.offset).toBe(1);
      const reader = new Reader(broker.stream(ch, { lastEventId: before }));
      expect(data(await reader.take(2))).toEqual([1, 2]);
      const extra = reader.take(3);
      await broker.publish(ch, 3);
      expect(data(await extra)).toEqual([1, 2, 3]);
      await reader.stop();
    });

    it('aborting the signal ends a waiting stream and releases its subscription', async () => {
      const broker = await open();
      const ch = channel();
      const [id] = await publishAll(broker, ch, [1]);
      const controller = new AbortController();
      const reader = new Reader(broker.stream(ch, { lastEventId: id, signal: controller.signal }));
      const pending = reader.next();
      await until(20);
      controller.abort();
      expect(await pending).toBe('done');
      if (hooks.subscriberCount) expect(hooks.subscriberCount(broker, ch)).toBe(0);
    });

    it('aborting the signal while events flow ends the stream, and an aborted signal yields nothing', async () => {
      const broker = await open();
      const ch = channel();
      const controller = new AbortController();
      const reader = await liveReader(broker, ch, controller.signal);
      controller.abort();
      await broker.publish(ch, 'after');
      expect(await reader.next()).toBe('done');
      const aborted = new Reader(broker.stream(ch, { signal: AbortSignal.abort() }));
      expect(await aborted.next()).toBe('done');
      if (hooks.subscriberCount) expect(hooks.subscriberCount(broker, ch)).toBe(0);
    });

    it('close() ends open streams with BrokerClosedError and later publishes reject', async () => {
      const broker = await open();
      const ch = channel();
      const [id] = await publishAll(broker, ch, [1]);
      const reader = new Reader(broker.stream(ch, { lastEventId: id }));
      const pending = reader.next();
      await until(20);
      await broker.close();
      await expect(pending).rejects.toBeInstanceOf(BrokerClosedError);
      await expect(broker.publish(ch, 2)).rejects.toBeInstanceOf(BrokerClosedError);
      await broker.close();
    });

    it('a malformed lastEventId fails with MalformedEventIdError (BAD_REQUEST)', async () => {
      const broker = await open();
      for (const bad of ['', 'garbage', '17', '.1', 'epoch.', 'epoch.-1', 'epoch.01', 'ep och.1', 'e.1.5x']) {
        const reader = new Reader(broker.stream(channel(), { lastEventId: bad }));
        const error = await reader.next().then(() => null, (caught: unknown) => caught);
        expect(error, bad).toBeInstanceOf(MalformedEventIdError);
        expect((error as MalformedEventIdError).code).toBe('BAD_REQUEST');
      }
    });

    it.runIf(hooks.sharedStore)('a second broker on the same store resumes the first one\'s ids exactly', async () => {
      const [a, b] = [await open(), await open()];
      const ch = channel();
      const ids = await publishAll(a, ch, range(1, 10));
      const reader = new Reader(b.stream(ch, { lastEventId: ids[3] }));
      const reading = reader.take(8);
      await publishAll(a, ch, [11, 12]);
      expect(data(await reading)).toEqual(range(5, 12));
      await reader.stop();
    });

    it.runIf(!hooks.sharedStore)('another broker instance (a new process) resumes foreign ids as an epoch gap', async () => {
      const [a, b] = [await open(), await open()];
      const ch = channel();
      const ids = await publishAll(a, ch, range(1, 3));
      await expectGap(b.stream(ch, { lastEventId: ids[1] }), 'epoch');
    });

    it.runIf(hooks.loseChannelData !== undefined)('after the store lost a channel, a resume is an epoch gap and publish starts a new epoch', async () => {
      const broker = await open();
      const ch = channel();
      const ids = await publishAll(broker, ch, range(1, 3));
      await hooks.loseChannelData?.(broker, ch);
      await expectGap(broker.stream(ch, { lastEventId: ids[1] }), 'epoch');
      const fresh = await broker.publish(ch, 4);
      expect(parseEventId(fresh)?.epoch).not.toBe(parseEventId(ids[0] ?? '')?.epoch);
    });

    it.runIf(hooks.loseChannelData !== undefined)('a live stream whose store lost the channel gets an epoch gap at the next event, never a silent restart', async () => {
      const broker = await open();
      const ch = channel();
      const [start] = await publishAll(broker, ch, [0]);
      const plain = new Reader(broker.stream(ch, { lastEventId: start }));
      const recovering = new Reader(broker.stream<number, string>(ch, { lastEventId: start, onGap: (gap) => `snapshot:${gap.reason}` }));
      const [plainFirst, recoveringFirst] = [plain.take(1), recovering.take(1)];
      await broker.publish(ch, 1);
      expect(data(await plainFirst)).toEqual([1]);
      expect(data(await recoveringFirst)).toEqual([1]);
      await hooks.loseChannelData?.(broker, ch);
      const plainNext = plain.next().then(() => null, (caught: unknown) => caught);
      const recoveringNext = recovering.take(2);
      await broker.publish(ch, 2);
      const error = await plainNext;
      expect(error).toBeInstanceOf(HistoryGapError);
      expect((error as HistoryGapError).reason).toBe('epoch');
      const [, snapshot] = await recoveringNext;
      expect(snapshot?.[1]).toBe('snapshot:epoch');
      // The snapshot stands at the new epoch's position when the gap was found (2 may be in it or
      // after it); from there on the stream is live again, in order, once.
      const newEpoch = parseEventId(snapshot?.[0] ?? '')?.epoch;
      expect(newEpoch).not.toBe(parseEventId(start ?? '')?.epoch);
      await broker.publish(ch, 3);
      while (recovering.events.at(-1)?.[1] !== 3) await recovering.next();
      const after = recovering.events.slice(2);
      expect([[2, 3], [3]]).toContainEqual(data(after));
      expect(after.every(([id]) => parseEventId(id)?.epoch === newEpoch)).toBe(true);
      await recovering.stop();
    });
  });
}
