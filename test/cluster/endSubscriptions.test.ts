/**
 * `endSubscriptions({ key, path, input })` across nodes: two handlers on one memory broker in this
 * process (real sockets on port 0), then two node processes on one real Redis
 * (test/fixtures/clusterNode.ts, NODE_AUTH=1 and NODE_KEYS=1) with our client and stock's. Only the
 * subscriptions named end, on every node, with the typed error; sockets and other subscriptions go on.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { MemoryBroker } from '../../src/broker/index.js';
import { createClusterControl, createMemoryBroker } from '../../src/broker/index.js';
import { isSubscriptionEndedError } from '../../src/protocol/index.js';
import { eventually } from '../broker/redisHarness.js';
import { dataIds, signIn } from '../fixtures/authSteps.js';
import type { ClusterNode } from '../fixtures/cluster.js';
import { makeClusterClient, startNode, startPublisher, useClusterCleanups } from '../fixtures/cluster.js';
import type { DocRouter, DocSession } from '../fixtures/docRouter.js';
import { createDocFixture } from '../fixtures/docRouter.js';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId, openRaw } from '../fixtures/rawClient.js';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

const redis = await findRedis();

const subscribeFrame = (id: number, docId: string) => ({ id, method: 'subscription', params: { path: 'doc', input: { docId } } });
const isResult = (id: number, type: string) => (frame: unknown) => forId(id)(frame) && (frame as { result?: { type?: string } }).result?.type === type;
const isError = (id: number) => (frame: unknown) => forId(id)(frame) && 'error' in (frame as object);

describe('endSubscriptions({ key, path, input }) across two nodes on a memory broker', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function twoNodes() {
    const fixture = createDocFixture();
    const broker: MemoryBroker = createMemoryBroker();
    const options = {
      router: fixture.router,
      authenticate: fixture.authenticate,
      createContext: fixture.createContext,
      broker,
      sessionKeys: (session: DocSession) => [`user:${session.user}`],
    };
    const nodes = [await startServer<DocRouter, DocSession>('lanyard', options), await startServer<DocRouter, DocSession>('lanyard', options)] as const;
    cleanups.push(() => broker.close());
    for (const node of nodes) cleanups.push(() => node.close());
    /** A raw trpc-lanyard socket on `node`, signed in as `token`, with a `doc` subscription per id. */
    const subscribed = async (node: RunningServer<DocSession>, token: string, docs: Record<number, string>): Promise<RawClient> => {
      const { client } = await signIn(async (query) => {
        const raw = await openRaw(`${node.url}/${query}`);
        cleanups.push(() => raw.close());
        return raw;
      }, token);
      const ids = Object.keys(docs).map(Number);
      client.send(ids.map((id) => subscribeFrame(id, docs[id] ?? '')));
      for (const id of ids) await client.next(isResult(id, 'started'));
      return client;
    };
    return { fixture, broker, nodes, subscribed };
  }

  it("a handler's call ends the matching subscriptions on both nodes and counts them; other users, documents and sockets go on", async () => {
    const { fixture, nodes, subscribed } = await twoNodes();
    const [a, b] = nodes;
    const aliceOnA = await subscribed(a, 'alice', { 1: 'd1', 2: 'd2' });
    const aliceOnB = await subscribed(b, 'alice', { 1: 'd1' });
    const bobOnB = await subscribed(b, 'bob', { 1: 'd1' });

    const result = await a.handler!.endSubscriptions({ key: 'user:alice', path: 'doc', input: { docId: 'd1' } }, { code: 'FORBIDDEN', reason: 'access withdrawn' });
    expect(result.affected).toBe(2);
    expect(result.waitedFor).toHaveLength(2);
    expect([...result.answered].sort()).toEqual([...result.waitedFor].sort());
    for (const client of [aliceOnA, aliceOnB]) {
      expect(await client.next(forId(1))).toMatchObject({ error: { message: 'access withdrawn', data: { code: 'FORBIDDEN', path: 'doc', lanyardReason: 'subscription-ended' } } });
      expect(await client.next(forId(1))).toMatchObject({ result: { type: 'stopped' } });
    }
    const [d1, d2] = [fixture.publish('d1').seq, fixture.publish('d2').seq];
    await eventually(() => dataIds(aliceOnA, 2).includes(d2) && dataIds(bobOnB, 1).includes(d1), 'the others stream on');
    expect(dataIds(aliceOnA, 1)).not.toContain(d1);
    expect(dataIds(aliceOnB, 1)).not.toContain(d1);
    expect(fixture.running('d1')).toBe(1); // bob's
    for (const client of [aliceOnA, aliceOnB, bobOnB]) expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('a process with no sockets ends by path and input alone, on every node', async () => {
    const { fixture, broker, nodes, subscribed } = await twoNodes();
    const [a, b] = nodes;
    const alice = await subscribed(a, 'alice', { 1: 'd1', 2: 'd2' });
    const bob = await subscribed(b, 'bob', { 7: 'd2' });
    const result = await createClusterControl(broker).endSubscriptions({ path: 'doc', input: { docId: 'd2' } }, { code: 'NOT_FOUND', reason: 'deleted' });
    expect(result.affected).toBe(2);
    expect(await alice.next(isError(2))).toMatchObject({ error: { message: 'deleted', data: { code: 'NOT_FOUND', lanyardReason: 'subscription-ended' } } });
    expect(await bob.next(isError(7))).toMatchObject({ error: { message: 'deleted', data: { code: 'NOT_FOUND', lanyardReason: 'subscription-ended' } } });
    const d1 = fixture.publish('d1').seq;
    await eventually(() => dataIds(alice, 1).includes(d1), 'd1 streams on');
    expect(fixture.running('d2')).toBe(0);
  });
});

describe.skipIf(redis === null)('endSubscriptions({ key, path, input }) across node processes on Redis', () => {
  const cleanups = useClusterCleanups();
  let prefix = '';
  const env = () => ({ REDIS_URL: redis?.url ?? '', LANYARD_PREFIX: prefix, NODE_AUTH: '1', NODE_KEYS: '1' });

  it('a call on node B ends the room subscription of a user on nodes A and B (our client and stock), typed; the other room streams every event once', async () => {
    prefix = uniquePrefix('cluster-end-subscriptions');
    const publisher = await startPublisher(redis?.url ?? '', prefix);
    cleanups.push(() => publisher.close());
    const [a, b] = (await Promise.all([startNode(env()), startNode(env())])) as [ClusterNode, ClusterNode];
    const user = `alice-${randomUUID()}`;
    const [left, stays] = [`left-${randomUUID()}`, `stays-${randomUUID()}`];
    const clients = (['lanyard', 'stock'] as const).map((kind, n) => {
      const closes: number[] = [];
      const client = makeClusterClient(kind, () => (n === 0 ? a.url : b.url), {
        connectionParams: () => ({ token: `${user}#${kind}` }),
        onClose: (cause) => closes.push(cause?.code ?? 0),
      });
      cleanups.push(() => client.close());
      const watch = (room: string) => {
        const seen = { events: [] as number[], errors: [] as unknown[] };
        client.trpc.room.subscribe({ room }, { onData: (event) => void seen.events.push(event.data), onError: (error) => void seen.errors.push(error) });
        return seen;
      };
      return { kind, closes, left: watch(left), stays: watch(stays) };
    });
    // A stream without lastEventId starts at its subscription in Redis, a moment after the procedure logged it.
    await eventually(async () => {
      await publisher.broker.publish(left, -1);
      await publisher.broker.publish(stays, -1);
      return clients.every((client) => client.left.events.includes(-1) && client.stays.events.includes(-1));
    }, 'every subscription streams');

    const result = await b.control({ op: 'end-subscriptions', key: `user:${user}`, path: 'room', input: { room: left }, code: 'FORBIDDEN', reason: 'you left the room' });
    expect(result.affected).toBe(2);
    expect(result.waitedFor).toHaveLength(2);
    expect([...result.answered].sort()).toEqual([...result.waitedFor].sort());
    await eventually(() => clients.every((client) => client.left.errors.length === 1), 'both clients see the end');
    for (const client of clients) {
      const error = client.left.errors[0] as { message: string; data: unknown };
      expect(error.message, client.kind).toBe('you left the room');
      expect(error.data, client.kind).toMatchObject({ code: 'FORBIDDEN', path: 'room', lanyardReason: 'subscription-ended' });
      expect(isSubscriptionEndedError(error)).toBe(true);
    }

    const events = [1, 2, 3, 4, 5];
    for (const n of events) {
      await publisher.broker.publish(left, n);
      await publisher.broker.publish(stays, n);
    }
    await eventually(() => clients.every((client) => client.stays.events.includes(5)), 'the other room streams on');
    for (const client of clients) {
      expect(client.stays.events.filter((n) => n > 0), client.kind).toEqual(events);
      expect(client.left.events.filter((n) => n > 0), client.kind).toEqual([]);
      expect(client.stays.errors).toEqual([]);
      expect(client.closes, client.kind).toEqual([]);
    }
    // Nothing subscribed it again: each node logged one stream of the ended room.
    expect([...a.streams(), ...b.streams()].filter((line) => line.startsWith(`stream ${left} `))).toHaveLength(2);

    const byPath = await createClusterControl(publisher.broker).endSubscriptions({ path: 'room', input: { room: stays } });
    expect(byPath.affected).toBe(2);
    await eventually(() => clients.every((client) => client.stays.errors.length === 1), 'the other room ended too, from a process without sockets');
  });
});
