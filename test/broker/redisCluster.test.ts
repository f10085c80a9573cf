import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { createClusterControl, createRedisBroker, parseEventId } from '../../src/broker/index.js';
import type { RedisBroker, RedisClientLike } from '../../src/broker/index.js';
import { canStartRedisCluster, startOwnRedisCluster, uniquePrefix } from '../fixtures/redis.js';
import type { OwnRedisCluster } from '../fixtures/redis.js';
import { listed, RecordingNode } from './controlContract.js';
import { Collector, eventually, range } from './redisHarness.js';

// Redis Cluster: a channel's keys share a hash tag (one slot), scripts go to that slot's master, and
// PUBLISH reaches every node's subscribers. Needs redis-server and redis-cli to start a 3-master cluster.
const available = canStartRedisCluster();
if (!available) {
  const message = 'redis-server/redis-cli not found: the Redis Cluster broker tests are SKIPPED.';
  if (process.env.CI === 'true') throw new Error(`${message} CI must run them (.ci/run installs redis-server).`);
  console.warn(`\n${'!'.repeat(90)}\n!!! ${message}\n${'!'.repeat(90)}\n`);
}
const cluster: OwnRedisCluster | null = available ? await startOwnRedisCluster() : null;

async function connect(driver: 'node-redis' | 'ioredis', port: number): Promise<{ client: RedisClientLike; close(): void }> {
  if (driver === 'node-redis') {
    const client = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${port}` }] });
    client.on('error', () => {});
    await client.connect();
    return { client, close: () => client.destroy() };
  }
  const client = new Cluster([{ host: '127.0.0.1', port }]);
  client.on('error', () => {});
  await new Promise((resolve) => client.once('ready', resolve));
  return { client, close: () => client.disconnect() };
}

afterAll(async () => {
  await cluster?.stop();
});

describe.skipIf(cluster === null).each(['node-redis', 'ioredis'] as const)('Redis broker on a Redis Cluster (%s)', (driver) => {
  it('channels on every slot: in order, none lost or doubled across a pub/sub kill, resumable on another node', async () => {
    const ports = cluster?.ports ?? [];
    const { client, close } = await connect(driver, ports[0] ?? 0);
    const prefix = uniquePrefix(`cluster-${driver}`);
    const brokers: RedisBroker[] = [createRedisBroker({ client, prefix }), createRedisBroker({ client, prefix })];
    const [a, b] = brokers as [RedisBroker, RedisBroker];
    try {
      const channels = range(1, 6).map((n) => `room-${n}`);
      const controller = new AbortController();
      const starts = await Promise.all(channels.map((ch) => a.publish(ch, 0)));
      const readers = channels.map(
        (ch, i) => new Collector(b.stream(ch, { lastEventId: starts[i] ?? null, signal: controller.signal })),
      );
      const total = 40;
      for (const n of range(1, total)) {
        await Promise.all(channels.map((ch) => a.publish(ch, n)));
        if (n === 20) {
          for (const port of ports) execFileSync('redis-cli', ['-p', String(port), 'CLIENT', 'KILL', 'TYPE', 'pubsub']);
        }
      }
      await eventually(() => readers.every((r) => r.events.length >= total), 'every channel delivered');
      for (const reader of readers) expect(reader.data).toEqual(range(1, total));
      // The keys of the channels landed on more than one master.
      const keysPerNode = ports.map((port) => Number(execFileSync('redis-cli', ['-p', String(port), 'DBSIZE']).toString()));
      expect(keysPerNode.filter((count) => count > 0).length).toBeGreaterThan(1);
      // Any node resumes any id exactly.
      const resumed = new Collector(a.stream(channels[0] ?? '', { lastEventId: readers[0]?.events[29]?.[0] ?? null, signal: controller.signal }));
      await eventually(() => resumed.events.length >= 10, 'the resume');
      expect(resumed.data).toEqual(range(31, 40));
      expect(parseEventId(resumed.lastId ?? '')?.offset).toBe(41);
      controller.abort();
      await Promise.all([...readers, resumed].map((r) => r.done));
      expect([...readers, resumed].map((r) => r.error)).toEqual(Array(7).fill(null));
    } finally {
      await Promise.all(brokers.map((broker) => broker.close()));
      close();
    }
  });

  it('carries the control bus: commands, replies, node list and revocation records (one slot)', async () => {
    const ports = cluster?.ports ?? [];
    const { client, close } = await connect(driver, ports[1] ?? 0);
    const prefix = uniquePrefix(`cluster-control-${driver}`);
    const brokers: RedisBroker[] = [createRedisBroker({ client, prefix }), createRedisBroker({ client, prefix })];
    const [a, b] = brokers as [RedisBroker, RedisBroker];
    try {
      const node = new RecordingNode('n', 3);
      b.control.join(node);
      await listed(a.control, [node]);
      const result = await createClusterControl(a, { timeoutMs: 5_000 }).revoke({ key: 'user:1' }, { reason: 'banned', forMs: 60_000 });
      expect(result).toEqual({ affected: 3, waitedFor: [node.id], answered: [node.id] });
      expect(node.applied.map((e) => e.command.kind)).toEqual(['revoke']);
      const keys = range(1, 600).map((n) => `user:${n}`);
      await Promise.all(keys.slice(1).map((key) => a.control.writeRevocation({ key, reason: 'r', revokedAt: 1 }, 60_000)));
      const records = await b.control.readRevocations([...keys, 'user:none']);
      expect(records.map((r) => r.key).sort()).toEqual([...keys].sort());
      expect(records.find((r) => r.key === 'user:1')?.reason).toBe('banned');
    } finally {
      await Promise.all(brokers.map((broker) => broker.close()));
      close();
    }
  });
});

