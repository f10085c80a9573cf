/**
 * What the server refuses in the auth lifecycle, on real sockets: hooks that return no session
 * or a non-finite expiry, credentials that are not fresher, and re-authentication storms.
 */
import type { TRPCError } from '@trpc/server';
import { describe, expect, it, vi } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import type { AuthenticateOptions } from '../../src/server/index.js';
import { authenticateFrame, meFrame, method, signIn, serveAuth } from '../fixtures/authSteps.js';
import type { TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { forId } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();
const connect = (query: string) => raw.connect(query);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sameUserAndRole = (a: TestSession, b: TestSession) => a.user === b.user && a.role === b.role;

/** Quiet: the refusals these tests provoke are not logged. */
const serve = (extra: Record<string, unknown> = {}) => serveAuth(raw, { onError: () => undefined, ...extra });

describe('authenticate must return a session', () => {
  it('refuses a connection whose authenticate returned undefined (4401), naming the mistake; revoke() never sees it', async () => {
    const fixture = createAuthFixture();
    const { handler } = await serve({
      authenticate: (opts: AuthenticateOptions<TestSession, unknown>) => (opts.connectionParams?.['token'] === 'none' ? undefined : fixture.authenticate(opts)),
    });
    const alice = (await signIn(connect, 'alice:admin')).client;
    const client = await raw.connect('?connectionParams=1');
    client.send({ method: 'connectionParams', data: { token: 'none' } });
    expect(await client.next(forId(null))).toMatchObject({
      error: { message: expect.stringContaining('authenticate returned undefined instead of a session object'), data: { code: 'UNAUTHORIZED' } },
    });
    expect((await client.closed).code).toBe(CloseCode.Unauthorized);
    // In band too: refused, the current session stays, and revoke's filter only ever sees sessions.
    alice.send(authenticateFrame(1, 'none'));
    expect(await alice.next(forId(1))).toMatchObject({ error: { data: { code: 'UNAUTHORIZED' } } });
    const seen: unknown[] = [];
    expect(handler.revoke((session) => (seen.push(session), session.user === 'nobody'))).toBe(0);
    expect(seen).toEqual([expect.objectContaining({ user: 'alice' })]);
    alice.send(meFrame(2));
    expect(await alice.next(forId(2))).toMatchObject({ result: { data: { user: 'alice' } } });
  });
});

describe('expiresAt must be a finite number, null or absent', () => {
  it.each([
    ['NaN (exp * 1000 without exp)', Number.NaN],
    ['a string', '1764374400000'],
    ['Infinity', Infinity],
  ])('closes with InternalError (4500) and tells onError when authenticate returns %s', async (_name, expiresAt) => {
    const errors: string[] = [];
    await serve({
      authenticate: () => ({ user: 'alice', role: 'admin', token: 't', expiresAt }),
      onError: ({ error }: { error: TRPCError }) => errors.push(error.message),
    });
    const client = await raw.connect('?connectionParams=1');
    client.send({ method: 'connectionParams', data: { token: 't' } });
    client.send(meFrame(1));
    expect(await client.next(forId(null))).toMatchObject({ error: { data: { code: 'INTERNAL_SERVER_ERROR' } } });
    expect((await client.closed).code).toBe(CloseCode.InternalError);
    expect(errors[0]).toMatch(/authenticate returned a session whose expiresAt is .*; it must be a finite number/);
  });

  it('logs the mistake even without onError, and refuses it in band while keeping the current session', async () => {
    const fixture = createAuthFixture();
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await serve({
        onError: undefined,
        authenticate: (opts: AuthenticateOptions<TestSession, unknown>) =>
          opts.connectionParams?.['token'] === 'nan' ? { user: 'alice', role: 'admin', token: 'nan', expiresAt: Number.NaN } : fixture.authenticate(opts),
      });
      const { client } = await signIn(connect, 'alice:admin:60000');
      client.send(authenticateFrame(1, 'nan'));
      expect(await client.next(forId(1))).toMatchObject({ error: { data: { code: 'INTERNAL_SERVER_ERROR' } } });
      expect(logged).toHaveBeenCalledWith('[trpc-lanyard]', expect.stringContaining('expiresAt is NaN'));
      client.send(meFrame(2));
      expect(await client.next(forId(2))).toMatchObject({ result: { data: { token: 'alice:admin:60000' } } });
    } finally {
      logged.mockRestore();
    }
  });
});

describe('a refresh that is not fresher', () => {
  /** Tokens `user:role@<expiresAt>`: the expiry is in the token, as with a cached JWT. */
  const fixedExpiry = (opts: AuthenticateOptions<TestSession, unknown>): TestSession => {
    const token = opts.connectionParams?.['token'] ?? '';
    const [who = '', at = ''] = token.split('@');
    const [user = '', role] = who.split(':');
    return { user, role: role === 'admin' ? 'admin' : 'member', token, expiresAt: Number(at) };
  };

  it('is refused once as not-fresher, keeps the session, and the server asks no more than once per expiry', async () => {
    await serve({ authenticate: fixedExpiry, sameAuthorization: sameUserAndRole, refreshAheadMs: 150, expiryGraceMs: 300 });
    const cached = `alice:admin@${Date.now() + 400}`;
    const { client } = await signIn(connect, cached);
    expect(await client.next(method('lanyard.refresh'), 2000)).toMatchObject({ params: { reason: 'expiring', seq: 1 } });
    client.send(authenticateFrame(1, cached, 1)); // the cached token again
    expect(await client.next(forId(1))).toMatchObject({
      error: { data: { code: 'UNAUTHORIZED', lanyardReason: 'not-fresher' } },
    });
    client.send(meFrame(2));
    expect(await client.next(forId(2))).toMatchObject({ result: { data: { token: cached } } });
    expect((await client.closed).code).toBe(CloseCode.SessionExpired);
    // One refresh request for that expiry, not a storm at halving intervals.
    expect(client.received.filter(method('lanyard.refresh'))).toEqual([]);
  });

  it('asks once per expiry even when a session with the same expiry is installed (a new grant)', async () => {
    await serve({ authenticate: fixedExpiry, sameAuthorization: sameUserAndRole, refreshAheadMs: 150, expiryGraceMs: 300 });
    const expiresAt = Date.now() + 400;
    const { client } = await signIn(connect, `alice:admin@${expiresAt}`);
    const refresh = (await client.next(method('lanyard.refresh'), 2000)) as { params: { seq: number } };
    client.send(authenticateFrame(1, `alice:member@${expiresAt}`, refresh.params.seq));
    expect(await client.next(forId(1))).toMatchObject({ result: { data: { expiresAt } } });
    expect((await client.closed).code).toBe(CloseCode.SessionExpired);
    expect(client.received.filter(method('lanyard.refresh'))).toEqual([]);
  });

  it('accepts the same token as the answer to requestReauthentication() (a re-check of the grant, not a bid for a later expiry)', async () => {
    const { handler } = await serve({ authenticate: fixedExpiry, sameAuthorization: sameUserAndRole, authTimeoutMs: 200 });
    const token = `alice:admin@${Date.now() + 60_000}`;
    const { client } = await signIn(connect, token);
    handler.requestReauthentication(() => true);
    const { params } = (await client.next(method('lanyard.refresh'))) as { params: { seq: number } };
    client.send(authenticateFrame(1, token, params.seq));
    expect(await client.next(forId(1))).toMatchObject({ result: { type: 'data' } });
    await sleep(300); // past the request's deadline: it was answered
    client.send(meFrame(2));
    expect(await client.next(forId(2))).toMatchObject({ result: { data: { user: 'alice' } } });
  });

  it('accepts a token that expires later, and a new grant whatever its expiry', async () => {
    await serve({ authenticate: fixedExpiry, sameAuthorization: sameUserAndRole });
    const { client } = await signIn(connect, `alice:admin@${Date.now() + 60_000}`);
    client.send(authenticateFrame(1, `alice:admin@${Date.now() + 90_000}`));
    expect(await client.next(forId(1))).toMatchObject({ result: { type: 'data' } });
    client.send(authenticateFrame(2, `alice:member@${Date.now() + 30_000}`));
    expect(await client.next(forId(2))).toMatchObject({ result: { type: 'data' } });
  });
});

describe('re-authentication storms', () => {
  it('refuses in-band authentications over the per-minute budget as rate-limited, then closes with 4429', async () => {
    const { fixture } = await serve({ maxReauthenticationsPerMinute: 3 });
    const { client } = await signIn(connect, 'alice:admin');
    const runs = () => fixture.executions.length;
    client.send([1, 2, 3].map((id) => authenticateFrame(id, 'alice:admin')));
    for (const id of [1, 2, 3]) expect(await client.next(forId(id))).toMatchObject({ result: { type: 'data' } });
    client.send(authenticateFrame(4, 'alice:admin'));
    expect(await client.next(forId(4))).toMatchObject({
      error: { data: { code: 'TOO_MANY_REQUESTS', lanyardReason: 'rate-limited' } },
    });
    const before = runs();
    client.send([5, 6, 7, 8].map((id) => authenticateFrame(id, 'alice:admin')));
    expect((await client.closed).code).toBe(CloseCode.RateLimited);
    expect(runs()).toBe(before);
  });

  it('refills the budget continuously: one more authentication every minute / maxReauthenticationsPerMinute', async () => {
    vi.useFakeTimers({ toFake: ['Date'] }); // time is the subject; the sockets stay real
    try {
      await serve({ maxReauthenticationsPerMinute: 3 });
      const { client } = await signIn(connect, 'alice:admin');
      client.send([1, 2, 3].map((id) => authenticateFrame(id, 'alice:admin')));
      for (const id of [1, 2, 3]) expect(await client.next(forId(id))).toMatchObject({ result: { type: 'data' } });
      client.send(authenticateFrame(4, 'alice:admin'));
      expect(await client.next(forId(4))).toMatchObject({ error: { data: { lanyardReason: 'rate-limited' } } });
      vi.setSystemTime(Date.now() + 20_000);
      client.send(authenticateFrame(5, 'alice:admin'));
      expect(await client.next(forId(5))).toMatchObject({ result: { type: 'data' } });
      client.send(authenticateFrame(6, 'alice:admin'));
      expect(await client.next(forId(6))).toMatchObject({ error: { data: { lanyardReason: 'rate-limited' } } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('re-runs subscriptions once for a burst of grant changes, and never for an unchanged grant', async () => {
    const { fixture } = await serve({ sameAuthorization: sameUserAndRole, maxReauthenticationsPerMinute: 100 });
    const { client } = await signIn(connect, 'alice:admin');
    const subscriptions = [1, 2, 3, 4, 5];
    client.send(subscriptions.map((id) => ({ id, method: 'subscription', params: { path: 'publicRoom' } })));
    for (const id of subscriptions) await client.next(forId(id));
    const roomRuns = () => fixture.executions.filter((e) => e.path === 'publicRoom').length;
    expect(roomRuns()).toBe(5);
    // The same grant, rotated twenty times: nothing re-runs.
    const rotations = Array.from({ length: 20 }, (_, i) => authenticateFrame(100 + i, `alice:admin#${i}`));
    client.send(rotations);
    await client.next(forId(119));
    expect(roomRuns()).toBe(5);
    // Twenty grant changes in one burst: each subscription re-runs once, under the last.
    const flips = Array.from({ length: 20 }, (_, i) => authenticateFrame(200 + i, i % 2 === 0 ? 'alice:member' : 'alice:admin'));
    client.send(flips);
    await client.next(forId(219));
    await expect.poll(roomRuns).toBe(10);
    await sleep(50);
    expect(roomRuns()).toBe(10);
    expect(fixture.executions.slice(-5).every((e) => e.session?.role === 'admin')).toBe(true);
    fixture.publish('public');
    await client.next((f) => forId(1)(f) && (f as { result?: { type: string } }).result?.type === 'data');
  });

  it('without authenticate (drop-in), answers lanyard.authenticate and re-runs nothing', async () => {
    const fixture = createAuthFixture();
    let contexts = 0;
    const session: TestSession = { user: 'anon', role: 'member', token: '-' };
    await raw.start({
      router: fixture.router,
      createContext: () => (contexts++, { session }),
    });
    const client = await raw.connect('?lanyard=1');
    client.send({ id: 1, method: 'subscription', params: { path: 'publicRoom' } });
    await client.next(forId(1));
    client.send(Array.from({ length: 10 }, (_, i) => authenticateFrame(10 + i, 'whatever')));
    expect(await client.next(forId(19))).toEqual({ id: 19, result: { type: 'data', data: { expiresAt: null } } });
    expect(contexts).toBe(1);
    expect(fixture.executions.filter((e) => e.path === 'publicRoom')).toHaveLength(1);
  });
});
