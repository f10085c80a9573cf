/**
 * A publish storm while clients resubscribe, on real processes and a real Redis: two nodes, our
 * clients and stock `@trpc/client`s connected through proxies that keep cutting their sockets, each
 * reconnect going to the other node, while a publisher appends 1..N as fast as Redis takes them.
 * Every client must end with exactly 1..N, in order, none twice.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisBroker } from '../../src/broker/redis/index.js';
import { killAllNodes, makeClusterClient, startDropProxy, startNode, startPublisher } from '../fixtures/cluster.js';
import type { ClientKind } from '../fixtures/clients.js';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import { eventually, range } from './redisHarness.js';

const redis = await findRedis();
const N = 400;
const CLIENTS_PER_KIND = 3;
/** Publishes between two socket cuts: with 6 clients each is cut several times during the storm. */
const PUBLISHES_PER_CUT = 12;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await killAllNodes();
});
afterAll(killAllNodes);

describe.skipIf(redis === null)('a publish storm while clients resubscribe, on a real Redis', () => {
  const prefix = uniquePrefix('storm');
  let publisher: RedisBroker;
  let closePublisher: () => Promise<void>;

  beforeAll(async () => {
    ({ broker: publisher, close: closePublisher } = await startPublisher(redis?.url ?? '', prefix));
  });
  afterAll(async () => closePublisher());

  it('clients whose sockets keep being cut, each reconnect on the other node, all end with exactly 1..N', async () => {
    const env = { REDIS_URL: redis?.url ?? '', LANYARD_PREFIX: prefix };
    const nodes = await Promise.all([startNode(env), startNode(env)]);
    const proxies = await Promise.all(nodes.map((node) => startDropProxy(node.url)));
    cleanups.push(() => Promise.all(proxies.map((proxy) => proxy.close())));
    const urls = proxies.map((proxy) => proxy.url);
    const room = `room-${randomUUID()}`;
    const start = await publisher.publish(room, 0);

    const kinds: ClientKind[] = [...Array<ClientKind>(CLIENTS_PER_KIND).fill('lanyard'), ...Array<ClientKind>(CLIENTS_PER_KIND).fill('stock')];
    const feeds = kinds.map((kind, i) => {
      let dials = i; // client i starts on node i % 2, then alternates on every reconnect
      const client = makeClusterClient(kind, () => urls[dials++ % urls.length] ?? '');
      cleanups.push(() => client.close());
      const feed = { kind, received: [] as number[], errors: [] as unknown[] };
      const subscription = client.trpc.room.subscribe(
        { room, lastEventId: start },
        { onData: (event) => feed.received.push(event.data), onError: (error) => feed.errors.push(error) },
      );
      cleanups.push(() => subscription.unsubscribe());
      return feed;
    });
    const streamsOpened = () => nodes.reduce((sum, node) => sum + node.streams().length, 0);
    await eventually(() => streamsOpened() === kinds.length, 'every client streaming');

    let cuts = 0;
    for (const n of range(1, N)) {
      await publisher.publish(room, n);
      if (n % PUBLISHES_PER_CUT === 0) {
        if (proxies[(n / PUBLISHES_PER_CUT) % proxies.length]?.dropOne()) cuts += 1; // nodes in turn
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    // Wait for the last event (or an error) everywhere, then compare: a lost event fails with a diff, not a timeout.
    const behind = () => feeds.filter((feed) => !feed.received.includes(N) && feed.errors.length === 0);
    await eventually(() => behind().length === 0, `event ${N} at every client (${behind().map((f) => `${f.kind}:${f.received.length}`).join(', ')})`, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 150)); // a duplicate would arrive now

    for (const feed of feeds) {
      expect({ kind: feed.kind, errors: feed.errors }).toEqual({ kind: feed.kind, errors: [] });
      expect(feed.received).toEqual(range(1, N));
    }
    // The storm really happened: sockets were cut and streams resumed on both nodes.
    expect(cuts).toBeGreaterThanOrEqual(N / PUBLISHES_PER_CUT / 2);
    expect(streamsOpened()).toBeGreaterThanOrEqual(kinds.length + cuts / 2);
    if (process.env.MULTINODE_VERBOSE) console.log({ cuts, streamsOpened: streamsOpened() });
    for (const node of nodes) expect(node.streams().filter((line) => !line.endsWith(`after ${start}`)).length).toBeGreaterThan(0);
  }, 90_000);
});
