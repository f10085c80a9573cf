/**
 * Cluster control by session key, in one process: two handlers ("nodes") share one memory broker,
 * real sockets on port 0. Revocations by key reach both nodes and stick; re-authentication requests
 * and `reconnect` reach both; the counts add up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { MemoryBroker } from '../../src/broker/index.js';
import { createClusterControl, createMemoryBroker } from '../../src/broker/index.js';
import { CloseCode } from '../../src/protocol/index.js';
import type { AuthenticateOptions, WSSHandlerOptions } from '../../src/server/index.js';
import type { AuthRouter, TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { meFrame, method, signIn } from '../fixtures/authSteps.js';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId, openRaw } from '../fixtures/rawClient.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

type Session = TestSession & { readonly issuedAt?: number | null };
type Options = Omit<WSSHandlerOptions<AuthRouter, Session>, 'wss'>;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two nodes on one memory broker, keyed by user; the fixture's tokens, plus `iat` (ms) in connectionParams when given. */
async function twoNodes(extra: Partial<Options> = {}) {
  const fixture = createAuthFixture();
  const broker: MemoryBroker = createMemoryBroker();
  const authenticate = (opts: AuthenticateOptions<Session, unknown>): Session => {
    const session = fixture.authenticate(opts);
    const iat = opts.connectionParams?.['iat'];
    return iat === undefined ? session : { ...session, issuedAt: Number(iat) };
  };
  const options: Options = {
    router: fixture.router,
    authenticate,
    createContext: fixture.createContext,
    broker,
    sessionKeys: (session) => [`user:${session.user}`, `role:${session.role}`],
    ...extra,
  };
  const nodes: [RunningServer<Session>, RunningServer<Session>] = [
    await startServer<AuthRouter, Session>('lanyard', options),
    await startServer<AuthRouter, Session>('lanyard', options),
  ];
  cleanups.push(() => broker.close());
  for (const node of nodes) cleanups.push(() => node.close());
  const connect = async (node: RunningServer<Session>, query: string) => {
    const client = await openRaw(`${node.url}/${query}`);
    cleanups.push(() => client.close());
    return client;
  };
  /** A signed-in raw socket on `node` (lanyard unless told). */
  const signInTo = async (node: RunningServer<Session>, token: string, params: Record<string, string> = {}, lanyard = true) => {
    if (Object.keys(params).length === 0) return (await signIn((query) => connect(node, query), token, lanyard)).client;
    const client = await connect(node, `?connectionParams=1${lanyard ? '&lanyard=1' : ''}`);
    client.send({ method: 'connectionParams', data: { token, ...params } });
    return client;
  };
  return { fixture, broker, nodes, handlers: nodes.map((node) => node.handler!), connect, signInTo };
}

/** Whether a socket refused at connect ran nothing: it is closed, and a `me` sent meanwhile got no result (an error at most). */
async function refusedBeforeAnyCall(client: RawClient): Promise<{ code: number; reason: string }> {
  client.send(meFrame('after'));
  const closed = await client.closed;
  expect(client.received.filter(forId('after')).some((frame) => 'result' in (frame as object))).toBe(false);
  return closed;
}

describe('revoke({ key }) across nodes', () => {
  it('closes the sessions with the key on both nodes with 4410 and the reason, and counts them all', async () => {
    const { nodes, handlers, signInTo } = await twoNodes();
    const [a, b] = nodes;
    const aliceOnA = await signInTo(a, 'alice:member');
    const aliceOnB = await signInTo(b, 'alice:member');
    const bobOnA = await signInTo(a, 'bob:member');

    const started = Date.now();
    const result = await handlers[1]!.revoke({ key: 'user:alice' }, { reason: 'banned by admin' });
    expect(result.affected).toBe(2);
    expect([...result.answered].sort()).toEqual([...result.waitedFor].sort());
    expect(result.waitedFor).toHaveLength(2);
    for (const client of [aliceOnA, aliceOnB]) expect(await client.closed).toEqual({ code: CloseCode.Revoked, reason: 'banned by admin' });
    expect(Date.now() - started).toBeLessThan(1_000);

    bobOnA.send(meFrame('bob'));
    expect(await bobOnA.next(forId('bob'))).toMatchObject({ result: { data: { user: 'bob' } } });
  });

  it('closes every matching session even with a reason longer than a close frame holds (cut at a character boundary)', async () => {
    const { nodes, handlers, signInTo } = await twoNodes();
    const clients = [await signInTo(nodes[0], 'alice:member'), await signInTo(nodes[0], 'alice:member'), await signInTo(nodes[1], 'alice:member')];
    const reason = 'é'.repeat(100); // 200 bytes of UTF-8
    expect((await handlers[0]!.revoke({ key: 'user:alice' }, { reason })).affected).toBe(3);
    for (const client of clients) expect(await client.closed).toEqual({ code: CloseCode.Revoked, reason: 'é'.repeat(61) });
    const again = await signInTo(nodes[1], 'alice:member', { iat: '0' });
    expect(await refusedBeforeAnyCall(again)).toEqual({ code: CloseCode.Revoked, reason: 'é'.repeat(61) });
    // The function form too (it threw from `ws` before, leaving the later sessions open).
    const bob = [await signInTo(nodes[0], 'bob:member'), await signInTo(nodes[0], 'bob:member')];
    expect(handlers[0]!.revoke((session) => session.user === 'bob', { reason })).toBe(2);
    for (const client of bob) expect((await client.closed).code).toBe(CloseCode.Revoked);
  });

  it('sticks: the same token is refused with 4410 on either node before any call runs, and accepted after forMs', async () => {
    const { nodes, handlers, fixture, signInTo } = await twoNodes();
    const [a, b] = nodes;
    await handlers[0]!.revoke({ key: 'user:alice' }, { reason: 'logged out everywhere', forMs: 600 });
    const runsBefore = fixture.executions.length;
    for (const node of [a, b]) {
      const again = await signInTo(node, 'alice:member', { iat: String(Date.now() - 60_000) });
      expect(await refusedBeforeAnyCall(again)).toEqual({ code: CloseCode.Revoked, reason: 'logged out everywhere' });
      const stock = await signInTo(node, 'alice:member', { iat: '0' }, false);
      expect((await refusedBeforeAnyCall(stock)).code).toBe(CloseCode.Revoked);
    }
    expect(fixture.executions.length).toBe(runsBefore); // no procedure ran under the revoked principal

    await sleep(650);
    const back = await signInTo(b, 'alice:member', { iat: '0' });
    back.send(meFrame('back'));
    expect(await back.next(forId('back'))).toMatchObject({ result: { data: { user: 'alice' } } });
  });

  it('spares a session issued after the revocation (a login after "log out everywhere"), not one issued before', async () => {
    const { nodes, handlers, signInTo } = await twoNodes();
    const revokedAt = Date.now();
    await handlers[0]!.revoke({ key: 'user:alice' });
    const before = await signInTo(nodes[1], 'alice:member', { iat: String(revokedAt - 1) });
    expect((await refusedBeforeAnyCall(before)).code).toBe(CloseCode.Revoked);
    const after = await signInTo(nodes[1], 'alice:member', { iat: String(Date.now() + 1) });
    after.send(meFrame('fresh'));
    expect(await after.next(forId('fresh'))).toMatchObject({ result: { data: { user: 'alice' } } });
  });

  it('refuses an in-band re-authentication into a revoked principal with 4410', async () => {
    const { nodes, handlers, signInTo } = await twoNodes();
    await handlers[1]!.revoke({ key: 'user:mallory' }, { reason: 'compromised' });
    const client = await signInTo(nodes[0], 'bob:member');
    client.send({ id: 'swap', method: 'lanyard.authenticate', params: { connectionParams: { token: 'mallory:member' } } });
    expect(await client.closed).toEqual({ code: CloseCode.Revoked, reason: 'compromised' });
    expect(client.received.some(forId('swap'))).toBe(false);
  });

  it('catches a session still being authenticated when the revocation command arrives (with no record to read)', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inHook = new Promise<void>((resolve) => (entered = resolve));
    const fixture = createAuthFixture();
    const { nodes, broker, connect } = await twoNodes({
      authenticate: async (opts) => {
        entered();
        await held;
        return fixture.authenticate(opts);
      },
    });
    const client = await connect(nodes[0], '?connectionParams=1&lanyard=1');
    client.send({ method: 'connectionParams', data: { token: 'alice:member' } });
    client.send(meFrame('early'));
    await inHook;
    // Only the command (as a node gets it from another): the in-flight check, not the record, must catch it.
    const command = { kind: 'revoke', key: 'user:alice', reason: 'too late', revokedAt: Date.now() } as const;
    await broker.control.post({ id: 'cmd-1', from: 'test', appliedBy: null, sentAt: Date.now(), command });
    await sleep(10);
    release();
    expect(await client.closed).toEqual({ code: CloseCode.Revoked, reason: 'too late' });
    expect(client.received.some(forId('early'))).toBe(false);
  });

  it('re-checks live sessions against the records every revalidateIntervalMs (a command that never arrived)', async () => {
    const { nodes, broker, signInTo } = await twoNodes({ revalidateIntervalMs: 100 });
    const client = await signInTo(nodes[0], 'alice:member');
    // Only the record, as if this node had missed the command.
    await broker.control.writeRevocation({ key: 'role:member', reason: 'role withdrawn', revokedAt: Date.now() }, 60_000);
    expect(await client.closed).toEqual({ code: CloseCode.Revoked, reason: 'role withdrawn' });
  });

  it('lifts a revocation before it expires', async () => {
    const { nodes, handlers, broker, signInTo } = await twoNodes();
    await handlers[0]!.revoke({ key: 'user:alice' });
    const control = createClusterControl(broker);
    expect(await control.liftRevocation({ key: 'user:alice' })).toBe(true);
    expect(await control.liftRevocation({ key: 'user:alice' })).toBe(false);
    const client = await signInTo(nodes[1], 'alice:member');
    client.send(meFrame('lifted'));
    expect(await client.next(forId('lifted'))).toMatchObject({ result: { data: { user: 'alice' } } });
  });
});

describe('requestReauthentication({ key }) and broadcastReconnectNotification() across nodes', () => {
  it('asks the clients with the key on both nodes, from a control with no sockets; those that do not answer are closed with 4408', async () => {
    const { nodes, broker, signInTo } = await twoNodes({ authTimeoutMs: 300 });
    const onA = await signInTo(nodes[0], 'alice:member');
    const onB = await signInTo(nodes[1], 'alice:member');
    const other = await signInTo(nodes[1], 'bob:member');
    const control = createClusterControl(broker); // an admin API's, holding no socket

    const result = await control.requestReauthentication({ key: 'user:alice' });
    expect(result.affected).toBe(2);
    expect(result.waitedFor).toHaveLength(2);
    const refreshA = (await onA.next(method('lanyard.refresh'))) as { params: { reason: string; seq: number } };
    const refreshB = (await onB.next(method('lanyard.refresh'))) as { params: { reason: string; seq: number } };
    expect(refreshA.params.reason).toBe('requested');
    // A answers with fresh credentials and stays; B does not answer.
    onA.send({ id: 'fresh', method: 'lanyard.authenticate', params: { connectionParams: { token: 'alice:member#2' }, answers: refreshA.params.seq } });
    expect(await onA.next(forId('fresh'))).toMatchObject({ result: { type: 'data' } });
    expect(refreshB.params.seq).toBeGreaterThan(0);
    expect((await onB.closed).code).toBe(CloseCode.AuthTimeout);
    onA.send(meFrame('still'));
    expect(await onA.next(forId('still'))).toMatchObject({ result: { data: { user: 'alice' } } });
    expect(other.received.some(method('lanyard.refresh'))).toBe(false);
  });

  it('sends reconnect to every connection of both nodes and counts them', async () => {
    const { nodes, handlers, signInTo } = await twoNodes();
    const clients = [await signInTo(nodes[0], 'alice:member'), await signInTo(nodes[1], 'bob:member', {}, false)];
    const result = await handlers[0]!.broadcastReconnectNotification();
    expect(result.affected).toBe(2);
    for (const client of clients) expect(await client.next(method('reconnect'))).toEqual({ id: null, method: 'reconnect' });
  });
});

describe('cluster control without a broker, and misuse', () => {
  it('with sessionKeys alone, a revocation by key sticks on the one node', async () => {
    const fixture = createAuthFixture();
    const server = await startServer<AuthRouter, TestSession>('lanyard', {
      router: fixture.router,
      authenticate: fixture.authenticate,
      createContext: fixture.createContext,
      sessionKeys: (session) => [`user:${session.user}`],
    });
    cleanups.push(() => server.close());
    const connect = async (query: string) => {
      const client = await openRaw(`${server.url}/${query}`);
      cleanups.push(() => client.close());
      return client;
    };
    const { client } = await signIn(connect, 'alice:member');
    const result = await server.handler!.revoke({ key: 'user:alice' }, { reason: 'gone' });
    expect(result.affected).toBe(1);
    expect(await client.closed).toEqual({ code: CloseCode.Revoked, reason: 'gone' });
    const again = await connect('?connectionParams=1');
    again.send({ method: 'connectionParams', data: { token: 'alice:member' } });
    expect(await refusedBeforeAnyCall(again)).toEqual({ code: CloseCode.Revoked, reason: 'gone' });
  });

  it('throws a TypeError for a { key } call without sessionKeys', async () => {
    const fixture = createAuthFixture();
    const server = await startServer<AuthRouter, TestSession>('lanyard', { router: fixture.router, authenticate: fixture.authenticate, broker: createMemoryBroker() });
    cleanups.push(() => server.close());
    expect(() => server.handler!.revoke({ key: 'user:alice' })).toThrow(/sessionKeys/);
    expect(() => server.handler!.requestReauthentication({ key: 'user:alice' })).toThrow(TypeError);
  });

  it('refuses a session whose sessionKeys throws with 4500, and reports it', async () => {
    const errors: unknown[] = [];
    const { nodes, signInTo } = await twoNodes({
      sessionKeys: () => {
        throw new Error('no keys today');
      },
      onError: ({ error }) => errors.push(error.cause ?? error),
    });
    const client = await signInTo(nodes[0], 'alice:member', { iat: '1' });
    expect((await refusedBeforeAnyCall(client)).code).toBe(CloseCode.InternalError);
    expect(errors[0]).toMatchObject({ message: 'no keys today' }); // (then once more for the call that waited)
  });
});
