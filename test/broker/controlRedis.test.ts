import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerClosedError, createClusterControl } from '../../src/broker/index.js';
import type { ControlBus, ControlReply } from '../../src/broker/index.js';
import { createRedisBroker, RedisBrokerError } from '../../src/broker/redis/index.js';
import type { RedisBroker, RedisBrokerOptions } from '../../src/broker/redis/index.js';
import { controlKeys } from '../../src/broker/redis/keys.js';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import { startRedisProxy } from '../fixtures/redisProxy.js';
import type { RedisProxy } from '../fixtures/redisProxy.js';
import { describeControlContract, envelopeFrom, eventually, listed, reconnect, RecordingNode, sleep } from './controlContract.js';
import { connectClient } from './redisHarness.js';
import type { DriverName, TestClient } from './redisHarness.js';

const redis = await findRedis();
const url = redis?.url ?? '';
const drivers: DriverName[] = ['node-redis', 'ioredis'];
/** The tests' poll interval: a command whose wake was lost arrives within it. */
const POLL_MS = 200;

/** Brokers on one prefix, each with its own client (nodes of one cluster); closes them all. */
class Nodes {
  readonly #open: { broker: RedisBroker; client: TestClient }[] = [];
  readonly #proxies: RedisProxy[] = [];
  constructor(
    readonly driver: DriverName,
    readonly prefix: string,
  ) {}

  async broker(options: Partial<RedisBrokerOptions> & { via?: RedisProxy } = {}): Promise<RedisBroker> {
    const { via, ...rest } = options;
    const client = await connectClient(this.driver, via?.url ?? url);
    const broker = createRedisBroker({ client: client.client, prefix: this.prefix, controlPollIntervalMs: POLL_MS, ...rest });
    this.#open.push({ broker, client });
    return broker;
  }

  async proxy(): Promise<RedisProxy> {
    const proxy = await startRedisProxy(url);
    this.#proxies.push(proxy);
    return proxy;
  }

  async closeAll(): Promise<void> {
    const open = this.#open.splice(0);
    await Promise.all(open.map(({ broker }) => broker.close()));
    await Promise.all(open.map(({ client }) => client.close()));
    await Promise.all(this.#proxies.splice(0).map((proxy) => proxy.close()));
  }
}

for (const driver of drivers) {
  describe.skipIf(redis === null)(`Redis control bus (${driver})`, () => {
    const prefix = uniquePrefix(`control-${driver}`);
    describeControlContract(
      driver,
      async (count) => {
        const nodes = new Nodes(driver, prefix);
        const brokers = await Promise.all(Array.from({ length: count }, () => nodes.broker()));
        return { buses: brokers.map((broker) => broker.control), close: () => nodes.closeAll() };
      },
      { settleMs: POLL_MS * 2 },
    );

    const nodes = new Nodes(driver, uniquePrefix(`control-redis-${driver}`));
    afterEach(async () => {
      await nodes.closeAll();
    });

    it('commands posted while a node is cut off reach it once, in order, when it is back; it resyncs once and works on', async () => {
      const proxy = await nodes.proxy();
      const [A, B] = [await nodes.broker(), await nodes.broker({ via: proxy })];
      const [a, b] = [new RecordingNode('a'), new RecordingNode('b', 7)];
      A.control.join(a);
      B.control.join(b);
      await listed(A.control, [a, b]);

      proxy.cut();
      const control = createClusterControl(A, { timeoutMs: 400 });
      const posted: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const envelope = envelopeFrom(A.control, { kind: 'reauthenticate', key: `k${i}` });
        posted.push(envelope.id);
        await A.control.post(envelope);
      }
      const revoked = await control.revoke({ key: `user:${randomUUID()}` }, { forMs: 60_000 });
      expect(revoked.waitedFor).toContain(b.id);
      expect(revoked.answered).toEqual([a.id]);
      expect(revoked.affected).toBe(1);
      // Cut off, B's bus refuses at once rather than hanging.
      for (const attempt of [
        () => B.control.post(envelopeFrom(B.control, reconnect)),
        () => B.control.readRevocations(['k']),
        () => B.control.writeRevocation({ key: 'k', reason: 'r', revokedAt: 1 }, 1_000),
        () => B.control.liftRevocation('k'),
      ]) {
        const error: unknown = await attempt().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(RedisBrokerError);
        expect((error as RedisBrokerError).code).toBe('SERVICE_UNAVAILABLE');
      }
      await sleep(POLL_MS * 4); // polls fail quietly meanwhile
      expect(b.applied).toEqual([]);
      expect(proxy.refused).toBeGreaterThan(0);

      proxy.restore();
      await eventually(() => b.applied.length >= 6 && b.resyncs > 0, 'b caught up and resynced');
      await sleep(POLL_MS * 3);
      expect(b.ids.slice(0, 5)).toEqual(posted);
      expect(b.applied.map((e) => e.command.kind)).toEqual([...Array(5).fill('reauthenticate'), 'revoke']);
      expect(b.resyncs).toBe(1);
      expect(a.resyncs).toBe(0);

      // B works on: its posts reach A and A's replies reach B; its broker publishes.
      const replies: ControlReply[] = [];
      B.control.onReply((reply) => replies.push(reply));
      const envelope = envelopeFrom(B.control, reconnect);
      await B.control.post(envelope);
      await eventually(() => replies.length >= 2, "A's and B's replies");
      expect(replies).toEqual(
        expect.arrayContaining([
          { id: envelope.id, node: a.id, affected: 1 },
          { id: envelope.id, node: b.id, affected: 7 },
        ]),
      );
      await expect(B.publish(`ch-${randomUUID()}`, 1)).resolves.toMatch(/\.1$/);
      const after = await createClusterControl(A, { timeoutMs: 5_000 }).requestReauthentication({ key: 'k' });
      expect(after.affected).toBe(8);
    });

    it('after its pub/sub connection alone dropped, a node resyncs once and misses nothing', async () => {
      const proxy = await nodes.proxy();
      const [A, B] = [await nodes.broker(), await nodes.broker({ via: proxy })];
      const b = new RecordingNode('b');
      B.control.join(b);
      await listed(A.control, [b]);
      expect(proxy.open).toBe(2); // the command connection and the pub/sub one, in either order
      await eventually(() => proxy.subscribed === 1, 'the pub/sub connection subscribed');
      expect(proxy.dropSubscribers()).toBe(1);
      const envelope = envelopeFrom(A.control, reconnect);
      await A.control.post(envelope);
      await eventually(() => b.applied.length === 1 && b.resyncs === 1, 'the command applied and b resynced');
      await sleep(POLL_MS * 3);
      expect(b.ids).toEqual([envelope.id]);
      expect(b.resyncs).toBe(1);
    });

    it('a node whose link is slower than the poster\'s gets a command posted right after its join', async () => {
      const proxy = await nodes.proxy();
      const [A, B] = [await nodes.broker(), await nodes.broker({ via: proxy })];
      await B.control.nodes(); // the slow client is connected before the delay starts
      proxy.delayMs = 40;
      const late = [1, 2, 3].map((n) => new RecordingNode(`slow${n}`));
      const posted: string[] = [];
      for (const node of late) {
        // Well clear of the commands before (a node may also get those posted within its link's round trip before its join).
        await sleep(300);
        B.control.join(node);
        const envelope = envelopeFrom(A.control, reconnect);
        posted.push(envelope.id);
        await A.control.post(envelope);
      }
      await eventually(() => late.every((node, n) => node.applied.length >= posted.length - n), 'each node got the posts after its join');
      await sleep(POLL_MS * 2);
      late.forEach((node, n) => expect(node.ids, node.id).toEqual(posted.slice(n)));
    });

    it('skips malformed log entries and replies', async () => {
      const A = await nodes.broker();
      const raw = await connectClient(driver, url);
      try {
        const keys = controlKeys(nodes.prefix);
        const node = new RecordingNode('a');
        A.control.join(node);
        await listed(A.control, [node]);
        const replies: ControlReply[] = [];
        A.control.onReply((reply) => replies.push(reply));
        await raw.command(['XADD', keys.log, '*', 'e', 'not json']);
        await raw.command(['XADD', keys.log, '*', 'x', '{}']);
        await raw.command(['XADD', keys.log, '*', 'e', JSON.stringify({ id: 'x', from: 'y', appliedBy: null, sentAt: 1, command: { kind: 'nope' } })]);
        const badEnd = (command: Record<string, unknown>) => JSON.stringify({ id: 'x', from: 'y', appliedBy: null, sentAt: Date.now(), command: { kind: 'end-subscriptions', ...command } });
        await raw.command(['XADD', keys.log, '*', 'e', badEnd({ code: 'FORBIDDEN', reason: 'neither key nor path' })]);
        await raw.command(['XADD', keys.log, '*', 'e', badEnd({ path: 'doc', code: 'TEAPOT', reason: 'unknown code' })]);
        await raw.command(['XADD', keys.log, '*', 'e', badEnd({ key: '', code: 'FORBIDDEN', reason: 'empty key' })]);
        await raw.command(['XADD', keys.log, '*', 'e', badEnd({ path: 'doc', code: 'FORBIDDEN' })]);
        await raw.command(['PUBLISH', keys.replies(A.control.id), 'garbage']);
        await raw.command(['PUBLISH', keys.wake, 'garbage']);
        const envelope = envelopeFrom(A.control, reconnect);
        await A.control.post(envelope);
        await eventually(() => node.applied.length === 1 && replies.length === 1, 'the valid command applied and answered');
        await sleep(POLL_MS * 2);
        expect(node.ids).toEqual([envelope.id]);
        expect(replies).toEqual([{ id: envelope.id, node: node.id, affected: 1 }]);
      } finally {
        await raw.close();
      }
    });

    it('lists a node only while its heartbeats arrive', async () => {
      const proxy = await nodes.proxy();
      const [A, B] = [await nodes.broker(), await nodes.broker({ via: proxy, nodeTtlMs: 600 })];
      const b = new RecordingNode('b');
      B.control.join(b);
      await listed(A.control, [b]);
      proxy.cut();
      const cutAt = performance.now();
      await eventually(async () => !(await A.control.nodes()).includes(b.id), 'b unlisted', 3_000);
      expect(performance.now() - cutAt).toBeGreaterThan(300);
      proxy.restore();
      await listed(A.control, [b]);
    });

    it('close leaves: its nodes are unlisted, its channels unsubscribed, and it refuses work', async () => {
      const [A, B] = [await nodes.broker(), await nodes.broker()];
      const b = new RecordingNode('b');
      B.control.join(b);
      B.control.onReply(() => {});
      await B.control.post(envelopeFrom(B.control, reconnect));
      await listed(A.control, [b]);
      const keys = controlKeys(nodes.prefix);
      const raw = await connectClient(driver, url);
      try {
        const subscribers = async (channel: string) => Number(((await raw.command(['PUBSUB', 'NUMSUB', channel])) as unknown[])[1]);
        expect(await subscribers(keys.replies(B.control.id))).toBe(1);
        const wakeBefore = await subscribers(keys.wake);
        await B.close();
        expect(await A.control.nodes()).not.toContain(b.id);
        await eventually(async () => (await subscribers(keys.replies(B.control.id))) === 0, 'the reply channel unsubscribed');
        await eventually(async () => (await subscribers(keys.wake)) === wakeBefore - 1, 'the wake channel unsubscribed');
        await expect(B.control.post(envelopeFrom(B.control, reconnect))).rejects.toBeInstanceOf(BrokerClosedError);
        expect(() => B.control.join(new RecordingNode('c'))).toThrow(BrokerClosedError);
      } finally {
        await raw.close();
      }
    });
  });
}

describe.skipIf(redis === null)('Redis control options', () => {
  it('refuses a control option that is not a positive integer, naming it', async () => {
    const client = await connectClient('node-redis', url);
    try {
      for (const [name, value] of [
        ['controlPollIntervalMs', 0],
        ['nodeTtlMs', -1],
        ['controlLogLength', 1.5],
      ] as const) {
        expect(() => createRedisBroker({ client: client.client, [name]: value })).toThrow(new RegExp(name));
      }
    } finally {
      await client.close();
    }
  });

  it('trims the log to about controlLogLength', async () => {
    const prefix = uniquePrefix('control-trim');
    const client = await connectClient('node-redis', url);
    const broker = createRedisBroker({ client: client.client, prefix, controlLogLength: 100 });
    try {
      const bus: ControlBus = broker.control;
      for (let i = 0; i < 400; i += 1) await bus.post(envelopeFrom(bus, reconnect));
      const length = Number(await client.command(['XLEN', controlKeys(prefix).log]));
      expect(length).toBeGreaterThanOrEqual(100);
      expect(length).toBeLessThan(400);
    } finally {
      await broker.close();
      await client.close();
    }
  });
});
