/**
 * SSE streams in a cluster: two nodes (each a WebSocket handler with an SSE server joined to it by
 * `createHttpAuth({ handler })`) on one Redis. A revocation, a re-authentication request or an
 * `endSubscriptions` by session key, called on one node, reaches an SSE stream on the other, typed;
 * the revocation record then refuses the same credentials there.
 */
import { createTRPCClient, httpLink, httpSubscriptionLink, retryLink } from '@trpc/client';
import type { TRPCClientError } from '@trpc/client';
import { EventSource } from 'eventsource';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { isSubscriptionEndedError, shouldRetryWithFreshCredentials, streamEndReason, StreamEndReason } from '../../src/protocol/index.js';
import { applyWSSHandler } from '../../src/server/index.js';
import { eventually } from '../broker/redisHarness.js';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import type { SseRouter } from '../fixtures/sseServer.js';
import { authenticate, issueToken, startSseServer } from '../fixtures/sseServer.js';

const redis = await findRedis();

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startNode(prefix: string) {
  const client = createClient({ url: redis?.url ?? '' });
  client.on('error', () => {});
  await client.connect();
  const broker = createRedisBroker({ client, prefix });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const probe = await startSseServer({});
  const handler = applyWSSHandler({
    wss,
    router: probe.router,
    authenticate,
    createContext: ({ session }) => ({ session: session! }),
    broker,
    sessionKeys: (session) => [`user:${session.user}`],
  });
  const server = await startSseServer({ handler });
  cleanups.push(
    () => client.destroy(),
    () => broker.close(),
    () => new Promise<void>((resolve) => wss.close(() => resolve())),
    () => handler.close(),
    () => probe.close(),
    () => server.close(),
  );
  return { handler, server };
}

function stream(url: string, token: () => string) {
  const seen = { errors: [] as unknown[] };
  const trpc = createTRPCClient<SseRouter>({
    links: [
      retryLink({ retry: ({ error }) => shouldRetryWithFreshCredentials(error) }),
      httpSubscriptionLink<SseRouter, typeof EventSource>({
        url,
        EventSource,
        eventSourceOptions: () => {
          const current = token();
          return { fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${current}` } }) };
        },
      }),
    ],
  });
  const subscription = trpc.feed.subscribe({}, { onError: (error) => void seen.errors.push(error) });
  cleanups.push(() => subscription.unsubscribe());
  return seen;
}

describe.skipIf(redis === null)('SSE streams across nodes (Redis)', () => {
  it('revoke by key on one node ends an SSE stream on the other (revoked), and its record refuses the same token there', async () => {
    const prefix = uniquePrefix('sse-nodes');
    const a = await startNode(prefix);
    const b = await startNode(prefix);
    const token = issueToken('alice', 60_000);
    const alice = stream(b.server.url, () => token);
    const bob = stream(b.server.url, () => issueToken('bob', 60_000));
    await eventually(() => b.server.running() === 2, 'both stream on node B');
    await new Promise((resolve) => setTimeout(resolve, 5)); // a revocation ends sessions issued before it
    const result = await a.handler.revoke({ key: 'user:alice' }, { reason: 'password changed', forMs: 60_000 });
    expect(result.affected).toBe(1);
    await eventually(() => alice.errors.length === 1, 'alice ends on node B');
    expect(streamEndReason(alice.errors[0])).toBe(StreamEndReason.Revoked);
    expect(bob.errors).toEqual([]);
    const again = await createTRPCClient<SseRouter>({ links: [httpLink({ url: b.server.url, headers: { authorization: `Bearer ${token}` } })] })
      .me.query()
      .catch((error: unknown) => error);
    expect((again as TRPCClientError<SseRouter>).data?.httpStatus).toBe(403);
    expect(streamEndReason(again)).toBe(StreamEndReason.Revoked);
  });

  it('requestReauthentication and endSubscriptions by key on one node reach SSE streams on the other', async () => {
    const prefix = uniquePrefix('sse-nodes');
    const a = await startNode(prefix);
    const b = await startNode(prefix);
    const alice = stream(b.server.url, () => issueToken('alice', 60_000));
    const bob = stream(b.server.url, () => issueToken('bob', 60_000));
    await eventually(() => b.server.running() === 2, 'both stream on node B');
    expect((await a.handler.requestReauthentication({ key: 'user:alice' })).affected).toBe(1);
    await eventually(() => b.server.starts.filter((start) => start.user === 'alice').length === 2, 'alice reopens');
    expect(alice.errors).toEqual([]);
    expect((await a.handler.endSubscriptions({ key: 'user:bob', path: 'feed' }, { code: 'FORBIDDEN', reason: 'feed closed for bob' })).affected).toBe(1);
    await eventually(() => bob.errors.length === 1, 'bob ends');
    expect(isSubscriptionEndedError(bob.errors[0])).toBe(true);
  });
});
