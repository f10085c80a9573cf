/**
 * Node loss, on real processes and a real Redis: two nodes (child processes) share one Redis, a
 * publisher appends 1..N at a steady rate, a client streams from node A; node A is SIGKILLed
 * mid-stream and the client's `url()` moves it to node B, which resumes it from its last event id.
 * The client must end with exactly 1..N, in order, none twice — with our client and with stock
 * `@trpc/client`.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import type { RedisBroker } from '../../src/broker/redis/index.js';
import { firstAlive, killAllNodes, makeClusterClient, startNode } from '../fixtures/cluster.js';
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

describe.skipIf(redis === null)('node loss on a real Redis', () => {
  const prefix = uniquePrefix('nodeloss');
  const env = { REDIS_URL: redis?.url ?? '', LANYARD_PREFIX: prefix };
  let publisher: RedisBroker;
  let closePublisher: () => Promise<void>;

  beforeAll(async () => {
    const client = createClient({ url: redis?.url ?? '' });
    client.on('error', () => {});
    await client.connect();
    publisher = createRedisBroker({ client, prefix });
    closePublisher = async () => {
      await publisher.close();
      client.destroy();
    };
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
      const received: number[] = [];
      const errors: unknown[] = [];
      const subscription = client.trpc.room.subscribe(
        { room, lastEventId: start },
        { onData: (event) => received.push(event.data), onError: (error) => errors.push(error) },
      );
      cleanups.push(() => subscription.unsubscribe());
      await eventually(() => a.streams().length === 1, 'the client streams from node A');

      let receivedAtKill = -1;
      for (const n of range(1, N)) {
        await publisher.publish(room, n);
        if (n === KILL_AT) {
          // Mid-stream: the client has some events, later ones are in flight or not yet published.
          await eventually(() => received.length >= KILL_AT / 2, `event ${KILL_AT / 2} on node A`);
          receivedAtKill = received.length;
          await a.kill();
        }
        await sleep(PUBLISH_INTERVAL_MS);
      }
      await eventually(() => received.length >= N || errors.length > 0, `all ${N} events (got ${received.length})`, 20_000);
      await sleep(100); // a duplicate would arrive now
      expect(errors).toEqual([]);
      expect(received).toEqual(range(1, N));
      // It really failed over mid-stream, and node B resumed it from an event id rather than from scratch.
      expect(receivedAtKill).toBeLessThan(N);
      expect(a.streams()).toHaveLength(1);
      const resumedOnB = b.streams();
      expect(resumedOnB).toHaveLength(1);
      expect(resumedOnB[0]).not.toContain(`after ${start}`);
      expect(resumedOnB[0]).not.toContain('after none');
    },
    60_000,
  );
});
