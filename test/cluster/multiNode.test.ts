/**
 * Cluster control across real node processes on one real Redis (test/fixtures/clusterNode.ts,
 * NODE_AUTH=1 and NODE_KEYS=1): a revocation issued on one node reaches a client on another within a
 * second and sticks on every node until `forMs`; a re-authentication request from a process that
 * holds no socket reaches both nodes; a node cut off from Redis while a revocation is issued closes
 * the session once it is back; counts add up across nodes.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClusterControl } from '../../src/broker/index.js';
import { CloseCode } from '../../src/protocol/index.js';
import { eventually } from '../broker/redisHarness.js';
import type { ClusterNode } from '../fixtures/cluster.js';
import { makeClusterClient, startNode, startPublisher, useClusterCleanups } from '../fixtures/cluster.js';
import { method } from '../fixtures/authSteps.js';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId, openRaw } from '../fixtures/rawClient.js';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import { startRedisProxy } from '../fixtures/redisProxy.js';

const redis = await findRedis();

const cleanups = useClusterCleanups();

describe.skipIf(redis === null)('cluster control across node processes', () => {
  // A prefix per test: nodes killed by the previous test stay in the node list for nodeTtlMs.
  let prefix = '';
  let publisher: Awaited<ReturnType<typeof startPublisher>>;
  const env = (extra: Record<string, string> = {}) => ({
    REDIS_URL: redis?.url ?? '',
    LANYARD_PREFIX: prefix,
    NODE_AUTH: '1',
    NODE_KEYS: '1',
    ...extra,
  });

  beforeEach(async () => {
    prefix = uniquePrefix('cluster-control');
    publisher = await startPublisher(redis?.url ?? '', prefix);
    cleanups.push(() => publisher.close());
  });

  /** A raw socket signed in to `node` with `token` (a trpc-lanyard client unless told), after its first call ran. */
  const signIn = async (node: ClusterNode, token: string, lanyard = true): Promise<RawClient> => {
    const client = await openRaw(`${node.url}/?connectionParams=1${lanyard ? '&lanyard=1' : ''}`);
    cleanups.push(() => client.close());
    client.send({ method: 'connectionParams', data: { token } });
    client.send({ id: 'first', method: 'mutation', params: { path: 'publish', input: { room: `r-${randomUUID()}`, data: 0 } } });
    return client;
  };
  const accepted = async (client: RawClient) => {
    expect(await client.next(forId('first'))).toMatchObject({ result: { type: 'data' } });
  };

  it('revoke on node B closes the client on node A with 4410 and the reason within 1 s; it does not reconnect; the token is refused on A and B until forMs', async () => {
    const nodes = await Promise.all([startNode(env()), startNode(env())]);
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const user = `alice-${randomUUID()}`;
    const closes: number[] = [];
    const client = makeClusterClient('lanyard', () => a.url, {
      connectionParams: () => ({ token: `${user}#1` }),
      onClose: (cause) => closes.push(cause?.code ?? 0),
    });
    cleanups.push(() => client.close());
    const errors: unknown[] = [];
    const room = `room-${randomUUID()}`;
    const received: number[] = [];
    client.trpc.room.subscribe({ room }, { onData: (event) => received.push(event.data), onError: (error) => errors.push(error) });
    await eventually(() => a.streams().length === 1, 'the subscription streams on A');
    // A stream without lastEventId starts at its subscription in Redis, a moment after the procedure logged it.
    await eventually(async () => {
      await publisher.broker.publish(room, 1);
      return received.length > 0;
    }, 'a first event');

    const started = Date.now();
    const result = await b.control({ op: 'revoke', key: `user:${user}`, reason: 'banned by admin', forMs: 3_000 });
    await eventually(() => closes.includes(CloseCode.Revoked), 'the client on A is closed with 4410', 1_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.affected).toBe(1);
    expect(result.waitedFor).toHaveLength(2);
    expect([...result.answered].sort()).toEqual([...result.waitedFor].sort());
    await eventually(() => errors.length === 1, 'the subscription ends with the revocation');
    // tRPC's error, whose cause (as with stock tRPC) is the close, with its code and reason.
    expect((errors[0] as Error).cause).toMatchObject({ code: CloseCode.Revoked, reason: 'banned by admin' });

    await sleep(500);
    expect(closes).toEqual([CloseCode.Revoked]); // no reconnect (one would be refused and closed again)

    for (const node of [a, b]) {
      const again = await signIn(node, `${user}#1`);
      expect(await again.closed).toEqual({ code: CloseCode.Revoked, reason: 'banned by admin' });
      expect(again.received.some((frame) => forId('first')(frame) && 'result' in (frame as object))).toBe(false);
    }
    const revokedAt = started;
    await sleep(Math.max(0, revokedAt + 3_000 - Date.now() + 200));
    for (const node of [a, b]) await accepted(await signIn(node, `${user}#1`));
  });

  it('requestReauthentication from a process with no sockets reaches clients on both nodes; the one that does not answer is closed with 4408', async () => {
    const nodes = await Promise.all([startNode(env({ NODE_AUTH_TIMEOUT_MS: '1000' })), startNode(env({ NODE_AUTH_TIMEOUT_MS: '1000' }))]);
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const user = `bob-${randomUUID()}`;
    let fetched = 0;
    const closes: number[] = [];
    const ours = makeClusterClient('lanyard', () => a.url, {
      connectionParams: () => ({ token: `${user}#${++fetched}` }),
      onClose: (cause) => closes.push(cause?.code ?? 0),
    });
    cleanups.push(() => ours.close());
    const room = `room-${randomUUID()}`;
    const received: number[] = [];
    ours.trpc.room.subscribe({ room }, { onData: (event) => received.push(event.data) });
    await eventually(() => a.streams().length === 1, 'the subscription streams on A');
    const silent = await signIn(b, `${user}#silent`);
    await accepted(silent);

    const control = createClusterControl(publisher.broker); // e.g. an admin API: no sockets
    const result = await control.requestReauthentication({ key: `user:${user}` });
    expect(result.affected).toBe(2);
    expect(result.waitedFor).toHaveLength(2);
    expect(result.answered).toHaveLength(2);
    await silent.next(method('lanyard.refresh'));
    expect((await silent.closed).code).toBe(CloseCode.AuthTimeout);
    await eventually(() => fetched >= 2, 'our client fetched fresh credentials');
    await sleep(1_200); // past the deadline: our client answered in time and stays
    expect(closes).toEqual([]);
    await publisher.broker.publish(room, 7);
    await eventually(() => received.includes(7), 'the subscription still streams on A');
  });

  it('a node cut off from Redis while a revocation is issued closes the session once it is back', async () => {
    const proxy = await startRedisProxy(redis?.url ?? '');
    cleanups.push(() => proxy.close());
    const nodes = await Promise.all([startNode(env({ REDIS_URL: proxy.url })), startNode(env())]);
    const [a] = nodes as [ClusterNode, ClusterNode];
    const user = `carol-${randomUUID()}`;
    const client = await signIn(a, `${user}#1`);
    await accepted(client);

    proxy.cut(); // every connection of node A to Redis, and its reconnects, dropped
    const control = createClusterControl(publisher.broker, { timeoutMs: 500 });
    const result = await control.revoke({ key: `user:${user}` }, { reason: 'revoked while you were away' });
    expect(result.waitedFor).toHaveLength(2); // A showed signs of life recently, so it is waited for
    expect(result.answered).toHaveLength(1); // and does not answer
    await sleep(1_500);
    expect(client.ws.readyState).toBe(client.ws.OPEN); // A has not heard of it

    proxy.restore();
    expect(await Promise.race([client.closed, sleep(10_000).then(() => 'still open')])).toEqual({
      code: CloseCode.Revoked,
      reason: 'revoked while you were away',
    });
  });

  it('counts the connections affected across three nodes', async () => {
    const nodes = await Promise.all([startNode(env()), startNode(env()), startNode(env())]);
    const [a, b] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const user = `dave-${randomUUID()}`;
    const sockets = [await signIn(a, `${user}#1`), await signIn(a, `${user}#2`), await signIn(b, `${user}#3`, false)];
    for (const socket of sockets) await accepted(socket);
    const bystander = await signIn(b, `erin-${randomUUID()}`);
    await accepted(bystander);

    const result = await createClusterControl(publisher.broker).revoke({ key: `user:${user}` });
    expect(result.affected).toBe(3);
    expect(result.waitedFor).toHaveLength(3);
    expect(result.answered).toHaveLength(3);
    for (const socket of sockets) expect((await socket.closed).code).toBe(CloseCode.Revoked);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);

    const reconnect = await nodes[2]!.control({ op: 'reconnect' });
    expect(reconnect.affected).toBe(1);
    expect(await bystander.next(method('reconnect'))).toEqual({ id: null, method: 'reconnect' });
  });
});
