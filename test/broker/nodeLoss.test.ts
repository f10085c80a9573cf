/**
 * Node loss, on real processes and a real Redis: two nodes (child processes) share one Redis, a
 * publisher appends 1..N at a steady rate, a client streams from node A; node A is SIGKILLed
 * mid-stream and the client's `url()` moves it to node B, which resumes it from its last event id.
 * The client must end with exactly 1..N, in order, none twice — with our client and with stock
 * `@trpc/client`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHistoryGapError } from '../../src/broker/index.js';
import type { RedisBroker } from '../../src/broker/redis/index.js';
import { firstAlive, killAllNodes, makeClusterClient, startNode, startPublisher } from '../fixtures/cluster.js';
import type { ClusterNode } from '../fixtures/cluster.js';
import type { ClientKind } from '../fixtures/clients.js';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import { eventually, range } from './redisHarness.js';

const redis = await findRedis();
const N = 150;
const PUBLISH_INTERVAL_MS = 8;
const KILL_AT = 60;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await killAllNodes();
});
afterAll(killAllNodes);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Subscribes `client` to `room` after `lastEventId`, recording what arrives; unsubscribed after the test. */
function follow(client: ReturnType<typeof makeClusterClient>, room: string, lastEventId: string) {
  const received: number[] = [];
  const errors: unknown[] = [];
  const subscription = client.trpc.room.subscribe(
    { room, lastEventId },
    { onData: (event) => received.push(event.data), onError: (error) => errors.push(error) },
  );
  cleanups.push(() => subscription.unsubscribe());
  return { received, errors };
}

describe.skipIf(redis === null)('node loss on a real Redis', () => {
  const prefix = uniquePrefix('nodeloss');
  const env = { REDIS_URL: redis?.url ?? '', LANYARD_PREFIX: prefix };
  let publisher: RedisBroker;
  let closePublisher: () => Promise<void>;

  beforeAll(async () => {
    ({ broker: publisher, close: closePublisher } = await startPublisher(redis?.url ?? '', prefix));
  });
  afterAll(async () => closePublisher());

  it.each<ClientKind>(['lanyard', 'stock'])(
    'a %s client whose node is SIGKILLed mid-stream resumes on the other node with exactly 1..N, in order',
    async (kind) => {
      const nodes: ClusterNode[] = await Promise.all([startNode(env), startNode(env)]);
      const [a, b] = nodes as [ClusterNode, ClusterNode];
      const room = `room-${randomUUID()}`;
      const client = makeClusterClient(kind, firstAlive(nodes));
      cleanups.push(() => client.close());
      const start = await publisher.publish(room, 0);
      const { received, errors } = follow(client, room, start);
      await eventually(() => a.streams().length === 1, 'the client streams from node A');

      for (const n of range(1, N)) {
        await publisher.publish(room, n);
        if (n === KILL_AT) {
          // Mid-stream: the client has some events, later ones are in flight or not yet published.
          await eventually(() => received.length >= KILL_AT / 2, `event ${KILL_AT / 2} on node A`);
          await a.kill();
        }
        await sleep(PUBLISH_INTERVAL_MS);
      }
      // Wait for the last event (or an error), then compare: a lost event fails with a diff, not a timeout.
      await eventually(() => received.includes(N) || errors.length > 0, `event ${N} (got ${received.length} events)`, 20_000);
      await sleep(100); // a duplicate would arrive now
      expect(errors).toEqual([]);
      expect(received).toEqual(range(1, N));
      // It really failed over mid-stream, and node B resumed it from an event id rather than from scratch.
      expect(a.streams()).toHaveLength(1);
      const resumedOnB = b.streams();
      expect(resumedOnB).toHaveLength(1);
      expect(resumedOnB[0]).not.toContain(`after ${start}`);
      expect(resumedOnB[0]).not.toContain('after none');
    },
    60_000,
  );

  it('without a shared store (a memory broker per node) the same failover ends in an explicit history gap, not a silent hole', async () => {
    const memoryEnv = { ...env, NODE_BROKER: 'memory' };
    const nodes: ClusterNode[] = await Promise.all([startNode(memoryEnv), startNode(memoryEnv)]);
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    // Each node has its own history, so the publisher appends every event on every live node.
    const publishers = nodes.map((node) => ({ node, client: makeClusterClient('lanyard', () => node.url) }));
    for (const { client } of publishers) cleanups.push(() => client.close());
    const room = `room-${randomUUID()}`;
    const publishEverywhere = async (n: number) => {
      const ids = await Promise.all(publishers.filter(({ node }) => node.alive).map(({ client }) => client.trpc.publish.mutate({ room, data: n })));
      return ids[0] ?? '';
    };
    const client = makeClusterClient('lanyard', firstAlive(nodes));
    cleanups.push(() => client.close());
    const start = await publishEverywhere(0);
    const { received, errors } = follow(client, room, start);
    await eventually(() => a.streams().length === 1, 'the client streams from node A');
    for (const n of range(1, KILL_AT)) {
      await publishEverywhere(n);
      await sleep(PUBLISH_INTERVAL_MS);
    }
    await eventually(() => received.length >= KILL_AT / 2, `event ${KILL_AT / 2} on node A`);
    await a.kill();
    for (const n of range(KILL_AT + 1, N)) await publishEverywhere(n);
    await eventually(() => errors.length > 0, 'the history gap', 20_000);
    expect(b.streams()).toHaveLength(1); // it did resume on B, from A's id
    expect(errors).toHaveLength(1);
    expect(isHistoryGapError(errors[0])).toBe(true);
    expect(received.length).toBeLessThan(N);
    expect(received).toEqual(range(1, received.length)); // what it got is an exact prefix: no hole inside
  }, 60_000);
});
