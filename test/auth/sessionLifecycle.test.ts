/** The life of an authenticated connection on the server: expiry, in-band refresh, re-authorisation, revalidation, revocation. */
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import type { TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';
import { authenticateFrame, dataIds, meFrame, method, serveAuth, signIn as signInWith } from '../fixtures/authSteps.js';

const raw = useRawServer();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const serve = (extra: Record<string, unknown> = {}) => serveAuth(raw, extra);

const connect = (query: string) => raw.connect(query);
/** A raw socket that speaks our extension (unless `lanyard` is false) and authenticated with `token`. */
const signIn = async (token: string, lanyard = true): Promise<RawClient> => (await signInWith(connect, token, lanyard)).client;

describe('expiry', () => {
  it('asks a trpc-lanyard client to refresh ahead of expiry, then closes with SessionExpired (4419) after the grace', async () => {
    await serve({ refreshAheadMs: 100, expiryGraceMs: 100 });
    const started = Date.now();
    const client = await signIn('alice:admin:300');
    const refresh = (await client.next(method('lanyard.refresh'), 1000)) as { params: { reason: string; expiresAt: number; deadlineMs: number } };
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(refresh.params.reason).toBe('expiring');
    expect(refresh.params.deadlineMs).toBeGreaterThan(150);
    expect(refresh.params.deadlineMs).toBeLessThanOrEqual(220);
    expect(await client.closed).toEqual({ code: CloseCode.SessionExpired, reason: 'session expired' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('times a session that never expired from the first re-authentication that brings an expiry', async () => {
    await serve({ refreshAheadMs: 100, expiryGraceMs: 100 });
    const client = await signIn('alice:admin');
    client.send(authenticateFrame(1, 'alice:admin:300'));
    expect(await client.next(forId(1))).toMatchObject({ result: { type: 'data' } });
    const refresh = (await client.next(method('lanyard.refresh'), 1000)) as { params: { reason: string } };
    expect(refresh.params.reason).toBe('expiring');
    expect(await client.closed).toEqual({ code: CloseCode.SessionExpired, reason: 'session expired' });
  });

  it('stops timing a session once a re-authentication brings one that never expires', async () => {
    await serve({ refreshAheadMs: 100, expiryGraceMs: 100 });
    const client = await signIn('alice:admin:400');
    client.send(authenticateFrame(1, 'alice:admin'));
    expect(await client.next(forId(1))).toMatchObject({ result: { data: { expiresAt: null } } });
    await sleep(600); // past the first session's expiry and grace
    client.send(meFrame(2));
    expect(await client.next(forId(2))).toMatchObject({ result: { data: { token: 'alice:admin' } } });
    expect(client.received.filter(method('lanyard.refresh'))).toEqual([]);
  });

  it('holds calls that arrive after expiry until the in-band refresh, then runs them under the new session', async () => {
    const { fixture } = await serve({ refreshAheadMs: 50, expiryGraceMs: 2000, sameAuthorization: (a: TestSession, b: TestSession) => a.user === b.user && a.role === b.role });
    const client = await signIn('alice:admin:150');
    await sleep(200);
    client.send(meFrame(1));
    await sleep(100);
    expect(client.received.some(forId(1))).toBe(false);
    expect(fixture.executions.filter((e) => e.atMs > Date.now() - 250)).toEqual([]);
    client.send(authenticateFrame(2, 'alice:admin:5000'));
    expect(await client.next(forId(2))).toMatchObject({ result: { type: 'data', data: { expiresAt: expect.any(Number) } } });
    expect(await client.next(forId(1))).toMatchObject({ result: { data: { token: 'alice:admin:5000' } } });
  });

  it('delivers nothing under an expired session; after the refresh the subscription replays what it held back, once', async () => {
    const { fixture } = await serve({ refreshAheadMs: 50, expiryGraceMs: 2000 });
    const client = await signIn('alice:admin:200');
    client.send({ id: 1, method: 'subscription', params: { path: 'publicRoom' } });
    await client.next(forId(1));
    fixture.publish('public');
    await expect.poll(() => dataIds(client, 1)).toEqual([1]);
    await sleep(250); // expired now
    fixture.publish('public');
    fixture.publish('public');
    await sleep(50);
    expect(dataIds(client, 1)).toEqual([1]);
    client.send(authenticateFrame(2, 'alice:admin:60000'));
    await client.next(forId(2));
    await expect.poll(() => dataIds(client, 1)).toEqual([1, 2, 3]);
    fixture.publish('public');
    await expect.poll(() => dataIds(client, 1)).toEqual([1, 2, 3, 4]);
    expect(client.received.filter(forId(1)).some((f) => 'error' in (f as object))).toBe(false);
  });

  it('tells a stock client to reconnect (tRPC\'s own notification) before its session expires', async () => {
    await serve({ refreshAheadMs: 100, expiryGraceMs: 100 });
    const client = await signIn('alice:admin:300', false);
    expect(await client.next(method('reconnect'), 1000)).toEqual({ id: null, method: 'reconnect' });
    expect(client.received.some(method('lanyard.refresh'))).toBe(false);
    expect((await client.closed).code).toBe(CloseCode.SessionExpired);
  });
});

describe('in-band re-authentication', () => {
  it('rotates the token of the same principal without touching live subscriptions', async () => {
    const { fixture } = await serve({ sameAuthorization: (a: TestSession, b: TestSession) => a.user === b.user && a.role === b.role });
    const client = await signIn('alice:admin:60000');
    client.send({ id: 1, method: 'subscription', params: { path: 'adminRoom' } });
    await client.next(forId(1));
    fixture.publish('admin');
    const runs = fixture.executions.filter((e) => e.path === 'adminRoom').length;
    client.send(authenticateFrame(2, 'alice:admin:90000'));
    await client.next(forId(2));
    fixture.publish('admin');
    await expect.poll(() => dataIds(client, 1)).toEqual([1, 2]);
    expect(fixture.executions.filter((e) => e.path === 'adminRoom').length).toBe(runs);
    client.send(meFrame(3));
    expect(await client.next(forId(3))).toMatchObject({ result: { data: { token: 'alice:admin:90000' } } });
    // `started` was taken above; nothing else but the two events came: no second `started`, no error.
    expect(client.received.filter(forId(1)).map((f) => (f as { result?: { type: string } }).result?.type)).toEqual(['data', 'data']);
  });

  it('re-authorises live subscriptions when the principal changes: the forbidden one ends, the other goes on without a gap', async () => {
    const { fixture } = await serve();
    const client = await signIn('alice:admin');
    client.send([
      { id: 1, method: 'subscription', params: { path: 'adminRoom' } },
      { id: 2, method: 'subscription', params: { path: 'publicRoom' } },
    ]);
    await client.next(forId(1));
    await client.next(forId(2));
    for (let i = 0; i < 5; i++) fixture.publish('public');
    fixture.publish('admin');
    const publishing = (async () => {
      for (let i = 0; i < 40; i++) {
        fixture.publish('public');
        await sleep(1);
      }
    })();
    await sleep(5);
    client.send(authenticateFrame(3, 'bob:member'));
    expect(await client.next(forId(3))).toMatchObject({ result: { data: { expiresAt: null } } });
    expect(await client.next((f) => forId(1)(f) && 'error' in (f as object))).toMatchObject({
      error: { message: 'admins only', data: { code: 'FORBIDDEN' } },
    });
    await publishing;
    await expect.poll(() => dataIds(client, 2).length).toBe(45);
    const publicSeqs = dataIds(client, 2);
    expect(new Set(publicSeqs).size).toBe(publicSeqs.length);
    expect(publicSeqs).toEqual([...publicSeqs].sort((a, b) => a - b));
    // `started` and the error were taken above: the admin room sent its one event, then `stopped`.
    expect(client.received.filter(forId(1)).map((f) => (f as { result?: { type: string } }).result?.type ?? 'error')).toEqual(['data', 'stopped']);
    // The public room was not started again (its first `started` was taken above).
    expect(client.received.filter(forId(2)).filter((f) => (f as { result?: { type: string } }).result?.type !== 'data')).toEqual([]);
    client.send(meFrame(4));
    expect(await client.next(forId(4))).toMatchObject({ result: { data: { user: 'bob' } } });
  });

  it('answers refused credentials with UNAUTHORIZED and keeps the session; a FORBIDDEN principal is closed with 4403', async () => {
    await serve();
    const client = await signIn('alice:admin');
    client.send(authenticateFrame(1, 'bad'));
    expect(await client.next(forId(1))).toMatchObject({ error: { data: { code: 'UNAUTHORIZED' } } });
    client.send(meFrame(2));
    expect(await client.next(forId(2))).toMatchObject({ result: { data: { user: 'alice' } } });
    client.send(authenticateFrame(3, 'banned:member'));
    expect(await client.next(forId(3))).toMatchObject({ error: { data: { code: 'FORBIDDEN' } } });
    expect((await client.closed).code).toBe(CloseCode.Forbidden);
  });
});

describe('server-side control', () => {
  it('revoke(filter, { reason }) closes matching sessions with 4410 and says how many', async () => {
    const { handler } = await serve();
    const alice = await signIn('alice:admin');
    const bob = await signIn('bob:member');
    expect(handler.revoke((session) => session.user === 'alice', { reason: 'password changed' })).toBe(1);
    expect(await alice.closed).toEqual({ code: CloseCode.Revoked, reason: 'password changed' });
    bob.send(meFrame(1));
    expect(await bob.next(forId(1))).toMatchObject({ result: { data: { user: 'bob' } } });
  });

  it('requestReauthentication asks trpc-lanyard clients in band and closes those that do not answer (4408)', async () => {
    const { handler } = await serve({ authTimeoutMs: 150 });
    const answers = await signIn('alice:admin');
    const silent = await signIn('alice:member');
    const stock = await signIn('alice:admin', false);
    expect(handler.requestReauthentication((session) => session.user === 'alice')).toBe(3);
    const request = (await answers.next(method('lanyard.refresh'))) as { params: { seq: number } };
    expect(request).toMatchObject({ params: { reason: 'requested', deadlineMs: 150 } });
    answers.send({ id: 1, method: 'lanyard.authenticate', params: { connectionParams: { token: 'alice:admin' }, answers: request.params.seq } });
    await answers.next(forId(1));
    expect(await stock.next(method('reconnect'))).toEqual({ id: null, method: 'reconnect' });
    expect(await silent.closed).toEqual({ code: CloseCode.AuthTimeout, reason: 'no fresh credentials after the server asked for them' });
    await sleep(100);
    answers.send(meFrame(2));
    expect(await answers.next(forId(2))).toMatchObject({ result: { data: { user: 'alice' } } });
  });

  it('revalidate can revoke (4410), replace the session, or refuse (4401); a failing check keeps the session', async () => {
    const verdicts = new Map<string, 'revoke' | 'promote' | 'refuse' | 'crash'>();
    const { TRPCError } = await import('@trpc/server');
    await serve({
      revalidateIntervalMs: 50,
      onError: () => undefined,
      revalidate: (session: TestSession) => {
        switch (verdicts.get(session.user)) {
          case 'revoke':
            return null;
          case 'promote':
            return session.role === 'admin' ? session : { ...session, role: 'admin' as const };
          case 'refuse':
            throw new TRPCError({ code: 'UNAUTHORIZED', message: 'gone' });
          case 'crash':
            throw new Error('database down');
          default:
            return session;
        }
      },
    });
    const [revoked, promoted, refused, crashed] = await Promise.all(['ann', 'ben', 'cat', 'dan'].map((user) => signIn(`${user}:member`)));
    verdicts.set('ann', 'revoke').set('ben', 'promote').set('cat', 'refuse').set('dan', 'crash');
    expect(await revoked!.closed).toEqual({ code: CloseCode.Revoked, reason: 'session revoked' });
    expect((await refused!.closed).code).toBe(CloseCode.Unauthorized);
    expect(await promoted!.next(method('lanyard.session'))).toMatchObject({ params: { expiresAt: null } });
    promoted!.send(meFrame(1));
    expect(await promoted!.next(forId(1))).toMatchObject({ result: { data: { user: 'ben', role: 'admin' } } });
    await sleep(120);
    crashed!.send(meFrame(2));
    expect(await crashed!.next(forId(2))).toMatchObject({ result: { data: { user: 'dan' } } });
  });
});

describe('extension frames and transformers', () => {
  it('answers lanyard.authenticate without the router\'s transformer, which clients do not apply to our frames', async () => {
    const { initTRPC } = await import('@trpc/server');
    const wrap = { serialize: (v: unknown) => ({ wrapped: v }), deserialize: (v: unknown) => (v as { wrapped: unknown }).wrapped };
    const t = initTRPC.context<{ session: TestSession | null }>().create({ transformer: wrap });
    const router = t.router({ hi: t.procedure.query(() => 'hi') });
    const fixture = createAuthFixture();
    await raw.start<typeof router, TestSession>({ router, authenticate: fixture.authenticate, createContext: ({ session }) => ({ session }) });
    const client = await signIn('alice:admin');
    client.send(authenticateFrame(1, 'alice:admin:60000'));
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'data', data: { expiresAt: expect.any(Number) } } });
    client.send(authenticateFrame(2, 'bad'));
    expect(await client.next(forId(2))).toMatchObject({ id: 2, error: { code: -32001, data: { code: 'UNAUTHORIZED' } } });
    client.send({ id: 3, method: 'query', params: { path: 'hi', input: { wrapped: null } } });
    expect(await client.next(forId(3))).toEqual({ id: 3, result: { type: 'data', data: { wrapped: 'hi' } } });
  });
});

describe('re-authorisation racing a stop', () => {
  it('releases the old source when the client stops a subscription whose re-authorisation is then refused', async () => {
    const { initTRPC, TRPCError } = await import('@trpc/server');
    const t = initTRPC.context<{ session: TestSession | null }>().create();
    let releaseGate!: () => void;
    const gate = new Promise<void>((resolve) => (releaseGate = resolve));
    const signals: AbortSignal[] = [];
    const finished: number[] = [];
    const router = t.router({
      gated: t.procedure
        .use(async ({ ctx, next }) => {
          if (ctx.session?.user === 'bob') {
            await gate; // the re-run under bob's session waits here, then is refused
            throw new TRPCError({ code: 'FORBIDDEN' });
          }
          return next();
        })
        .subscription(async function* ({ signal }) {
          const run = signals.push(signal!);
          try {
            await new Promise<void>((resolve) => signal!.addEventListener('abort', () => resolve(), { once: true }));
            yield 'never';
          } finally {
            finished.push(run);
          }
        }),
    });
    const fixture = createAuthFixture();
    await raw.start<typeof router, TestSession>({ router, authenticate: fixture.authenticate, createContext: ({ session }) => ({ session }) });
    const client = await signIn('alice:admin');
    client.send({ id: 1, method: 'subscription', params: { path: 'gated' } });
    await client.next(forId(1));
    client.send(authenticateFrame(2, 'bob:member'));
    await expect.poll(() => signals.length).toBe(1);
    await sleep(20); // bob's re-run is parked at the gate
    client.send({ id: 1, method: 'subscription.stop' });
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'stopped' } });
    releaseGate();
    await client.next(forId(2));
    // The old source's signal is aborted and its generator finishes: nothing is left running.
    await expect.poll(() => signals.map((signal) => signal.aborted)).toEqual([true]);
    await expect.poll(() => finished).toEqual([1]);
    await sleep(20);
    expect(client.received.filter(forId(1))).toEqual([]); // no error after `stopped`
  });
});
