/**
 * A node whose link to Redis is down cannot read the revocation records. `onRevocationsUnavailable`
 * decides: 'refuse' (the default) closes a connecting session with 4500 and refuses an in-band
 * re-authentication with SERVICE_UNAVAILABLE, keeping the current session; 'admit' lets them in and
 * reports to onError. Real Redis, reached through a proxy the test cuts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TRPCError } from '@trpc/server';
import { createClient } from 'redis';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { CloseCode } from '../../src/protocol/index.js';
import type { RevocationsUnavailable } from '../../src/server/index.js';
import type { AuthRouter, TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { meFrame, signIn } from '../fixtures/authSteps.js';
import { forId, openRaw } from '../fixtures/rawClient.js';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import { startRedisProxy } from '../fixtures/redisProxy.js';
import { startServer } from '../fixtures/servers.js';

const redis = await findRedis();

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function nodeBehindProxy(policy: RevocationsUnavailable, authTimeoutMs = 10_000) {
  const proxy = await startRedisProxy(redis?.url ?? '');
  cleanups.push(() => proxy.close());
  const client = createClient({ url: proxy.url, socket: { reconnectStrategy: () => 100 } });
  client.on('error', () => {});
  await client.connect();
  cleanups.push(() => client.destroy());
  const broker = createRedisBroker({ client, prefix: uniquePrefix('records-unavailable') });
  cleanups.push(() => broker.close());
  const fixture = createAuthFixture();
  const errors: TRPCError[] = [];
  const server = await startServer<AuthRouter, TestSession>('lanyard', {
    router: fixture.router,
    authenticate: fixture.authenticate,
    createContext: fixture.createContext,
    broker,
    sessionKeys: (session) => [`user:${session.user}`],
    onRevocationsUnavailable: policy,
    authTimeoutMs,
    onError: ({ error }) => errors.push(error),
  });
  cleanups.push(() => server.close());
  const connect = async (query: string) => {
    const socket = await openRaw(`${server.url}/${query}`);
    cleanups.push(() => socket.close());
    return socket;
  };
  return { proxy, connect, errors };
}

describe.skipIf(redis === null)('when the revocation records cannot be read', () => {
  it("'refuse' (the default): a connecting session is closed with 4500; an in-band re-authentication is refused and the session stays", async () => {
    const { proxy, connect, errors } = await nodeBehindProxy('refuse');
    const { client: live } = await signIn(connect, 'alice:member');
    proxy.cut();

    const newcomer = await connect('?connectionParams=1&lanyard=1');
    newcomer.send({ method: 'connectionParams', data: { token: 'bob:member' } });
    newcomer.send(meFrame('me'));
    expect((await newcomer.closed).code).toBe(CloseCode.InternalError);
    expect(newcomer.received.filter(forId('me')).some((frame) => 'result' in (frame as object))).toBe(false);
    expect(errors.some((error) => error.code === 'SERVICE_UNAVAILABLE')).toBe(true);

    live.send({ id: 'again', method: 'lanyard.authenticate', params: { connectionParams: { token: 'alice:member#2' } } });
    expect(await live.next(forId('again'))).toMatchObject({ error: { data: { code: 'SERVICE_UNAVAILABLE' } } });
    live.send(meFrame('still'));
    expect(await live.next(forId('still'))).toMatchObject({ result: { data: { user: 'alice', token: 'alice:member' } } });

    proxy.restore();
    await new Promise((resolve) => setTimeout(resolve, 500)); // the client reconnects
    const { client: later } = await signIn(connect, 'bob:member');
    later.send(meFrame('later'));
    expect(await later.next(forId('later'))).toMatchObject({ result: { data: { user: 'bob' } } });
  });

  it("'admit': a connecting session is let in unchecked and the failure is reported", async () => {
    const { proxy, connect, errors } = await nodeBehindProxy('admit');
    proxy.cut();
    const { client } = await signIn(connect, 'carol:member');
    client.send(meFrame('in'));
    expect(await client.next(forId('in'))).toMatchObject({ result: { data: { user: 'carol' } } });
    expect(errors.some((error) => error.code === 'SERVICE_UNAVAILABLE')).toBe(true);
  });

  it('a records read that hangs (Redis answering after the deadline) closes the connecting socket with 4408 at authTimeoutMs, never later', async () => {
    const { proxy, connect } = await nodeBehindProxy('refuse', 400);
    proxy.delayMs = 5_000; // every answer from Redis arrives long after the deadline
    const socket = await connect('?connectionParams=1&lanyard=1');
    socket.send({ method: 'connectionParams', data: { token: 'dave:member' } });
    socket.send(meFrame('me'));
    const closed = await Promise.race([socket.closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 3_000))]);
    expect(closed).toMatchObject({ code: CloseCode.AuthTimeout });
    expect(socket.received.filter(forId('me')).some((frame) => 'result' in (frame as object))).toBe(false);
    proxy.delayMs = 0;
  });
});
