/**
 * Resume never skips authentication across nodes, on real processes and a real Redis: a client
 * streams from node A; its token is revoked (in the cluster's shared revocation set) and node A is
 * SIGKILLed; resuming on node B with that token is refused with 4401 before any event is replayed
 * (B never opens the stream). With a fresh token it resumes exactly where it stopped.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/index.js';
import { firstAlive, makeClusterClient, startNode, startPublisher, useClusterCleanups } from '../fixtures/cluster.js';
import type { ClusterNode } from '../fixtures/cluster.js';
import { revokedTokensKey } from '../fixtures/clusterNode.js';
import type { ClientKind } from '../fixtures/clients.js';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import { eventually, range } from './redisHarness.js';

const redis = await findRedis();

const cleanups = useClusterCleanups();

type Feed = { received: number[]; ids: string[]; errors: unknown[] };

describe.skipIf(redis === null)('resume across nodes never skips authentication', () => {
  const prefix = uniquePrefix('nodeauth');
  let publisher: Awaited<ReturnType<typeof startPublisher>>;

  beforeAll(async () => {
    publisher = await startPublisher(redis?.url ?? '', prefix);
  });
  afterAll(async () => publisher.close());

  it.each<ClientKind>(['lanyard', 'stock'])(
    'a %s client resuming on node B with a revoked token is refused (4401) before any event; with a fresh one it resumes exactly',
    async (kind) => {
      const env = { REDIS_URL: redis?.url ?? '', LANYARD_PREFIX: prefix, NODE_AUTH: '1' };
      const nodes: ClusterNode[] = await Promise.all([startNode(env), startNode(env)]);
      const [a, b] = nodes as [ClusterNode, ClusterNode];
      let token = `ok-${randomUUID()}`;
      const closeCodes: number[] = [];
      const client = makeClusterClient(kind, firstAlive(nodes), {
        connectionParams: () => ({ token }),
        onClose: (cause) => closeCodes.push(cause?.code ?? 0),
      });
      cleanups.push(() => client.close());
      const room = `room-${randomUUID()}`;
      const subscribe = (lastEventId: string | undefined): Feed => {
        const feed: Feed = { received: [], ids: [], errors: [] };
        const subscription = client.trpc.room.subscribe(
          { room, lastEventId },
          {
            onData: (event) => (feed.received.push(event.data), feed.ids.push(event.id)),
            onError: (error) => feed.errors.push(error),
          },
        );
        cleanups.push(() => subscription.unsubscribe());
        return feed;
      };
      const feed = subscribe(await publisher.broker.publish(room, 0));
      for (const n of range(1, 5)) await publisher.broker.publish(room, n);
      await eventually(() => feed.received.length === 5, 'events 1..5 on node A');

      await publisher.command(['SADD', revokedTokensKey(prefix), token]); // revoked cluster-wide
      await a.kill();
      for (const n of range(6, 10)) await publisher.broker.publish(room, n);
      const refusals = () => b.output().split('\n').filter((line) => line === `refused ${token}`).length;
      await eventually(() => refusals() >= 2 && closeCodes.includes(CloseCode.Unauthorized), 'refused resumes on node B');
      expect(feed.received).toEqual(range(1, 5)); // nothing replayed under the revoked token
      expect(b.streams()).toEqual([]); // the procedure never ran on B

      token = `ok-${randomUUID()}`; // a fresh credential
      let resumed = feed;
      if (kind === 'stock') {
        // Stock's client ends the subscription with the refusal (ours keeps it for the next accepted
        // socket); the app resubscribes from the last id it received, retrying an UNAUTHORIZED that a
        // socket still opened with the revoked token answers.
        expect(feed.errors.map((error) => (error as { data?: { code?: string } }).data?.code)).toEqual(['UNAUTHORIZED']);
        for (let attempt = 0; attempt < 20; attempt++) {
          resumed = subscribe(feed.ids.at(-1));
          await eventually(() => resumed.received.length > 0 || resumed.errors.length > 0, 'the resubscription');
          if (resumed.errors.length === 0) break;
          expect(resumed.received).toEqual([]);
        }
        resumed.received.unshift(...feed.received);
      } else {
        expect(feed.errors).toEqual([]);
      }
      await eventually(() => resumed.received.includes(10), 'the resume on node B');
      await new Promise((resolve) => setTimeout(resolve, 100)); // a duplicate would arrive now
      expect(resumed.received).toEqual(range(1, 10));
      expect(b.streams()).toHaveLength(1);
    },
    60_000,
  );
});
