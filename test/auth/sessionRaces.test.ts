/**
 * Races in the server's auth lifecycle, on real sockets: a hung authenticate, revalidate
 * against an in-band refresh, revoke against an authentication in flight, events and queued
 * calls around an expiry, and refreshes that do not answer the server's request.
 */
import vm from 'node:vm';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import type { AuthenticateOptions } from '../../src/server/index.js';
import { authenticateFrame, dataIds, meFrame, method, signIn, serveAuth } from '../fixtures/authSteps.js';
import type { TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { forId } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();
const connect = (query: string) => raw.connect(query);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Quiet: the refusals these tests provoke are not logged. */
const serve = (extra: Record<string, unknown> = {}) => serveAuth(raw, { onError: () => undefined, ...extra });

describe('a hung authenticate', () => {
  it('hands a signal made when first read: read after the connection closed, it is already aborted', async () => {
    let options: AuthenticateOptions<TestSession, unknown> | undefined;
    const held = gate();
    await serve({
      authTimeoutMs: 100,
      authenticate: async (opts: AuthenticateOptions<TestSession, unknown>) => {
        options = opts; // the signal is not read now
        await held.opened;
        return { user: 'alice', roles: ['admin'] } as unknown as TestSession;
      },
    });
    const client = await raw.connect('?connectionParams=1');
    client.send({ method: 'connectionParams', data: { token: 'alice:admin' } });
    expect(await client.closed).toMatchObject({ code: CloseCode.AuthTimeout });
    expect(options?.signal.aborted).toBe(true);
    expect(options?.url?.pathname).toBe('/');
    held.open();
  });

  it('is aborted when the connection closes, and the closed connection is released', async () => {
    const hung: Array<(session: TestSession) => void> = []; // the app holds on to its pending look-ups
    const signals: AbortSignal[] = [];
    let params: WeakRef<object> | undefined; // what only the connection (and this look-up) refers to
    await serve({
      authTimeoutMs: 100,
      authenticate: ({ signal, connectionParams }: AuthenticateOptions<TestSession, unknown>) => {
        params = new WeakRef(connectionParams!);
        signals.push(signal);
        return new Promise<TestSession>((resolve) => hung.push(resolve));
      },
    });
    const client = await raw.connect('?connectionParams=1');
    client.send({ method: 'connectionParams', data: { token: 'alice:admin' } });
    expect(await client.closed).toMatchObject({ code: CloseCode.AuthTimeout });
    await expect.poll(() => signals.map((signal) => signal.aborted)).toEqual([true]);
    // Nothing of the connection stays reachable from the pending promise.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    await expect
      .poll(
        async () => {
          await sleep(10);
          gc();
          return params?.deref() === undefined;
        },
        { timeout: 5_000, interval: 50 },
      )
      .toBe(true);
    expect(hung).toHaveLength(1);
  });

  it('in band, is answered with TIMEOUT after authTimeoutMs and does not block the next authentication', async () => {
    const fixture = createAuthFixture();
    await serve({
      authTimeoutMs: 150,
      authenticate: (opts: AuthenticateOptions<TestSession, unknown>) =>
        opts.connectionParams?.['token'] === 'hang' ? new Promise<TestSession>(() => undefined) : fixture.authenticate(opts),
    });
    const { client } = await signIn(connect, 'alice:admin');
    client.send(authenticateFrame(1, 'hang'));
    client.send(authenticateFrame(2, 'bob:member'));
    expect(await client.next(forId(1))).toMatchObject({ error: { data: { code: 'TIMEOUT' } } });
    expect(await client.next(forId(2))).toMatchObject({ result: { type: 'data' } });
    client.send(meFrame(3));
    expect(await client.next(forId(3))).toMatchObject({ result: { data: { user: 'bob' } } });
  });
});

describe('revalidate against an in-band refresh', () => {
  it('never installs its older result over the newer session (an async createContext is enough)', async () => {
    const fixture = createAuthFixture();
    const slow = gate();
    let revalidateContextStarted = false;
    let revalidated = false;
    await serve({
      revalidateIntervalMs: 30,
      revalidate: (session: TestSession) => {
        if (revalidated) return session;
        revalidated = true;
        return { ...session, token: `${session.token}+checked` };
      },
      createContext: async ({ session }: { session: TestSession | null }) => {
        if (session?.token.endsWith('+checked')) {
          revalidateContextStarted = true;
          await slow.opened;
        }
        return fixture.createContext({ session });
      },
    });
    const { client } = await signIn(connect, 'alice:admin');
    await expect.poll(() => revalidateContextStarted).toBe(true);
    client.send(authenticateFrame(1, 'alice:member'));
    await sleep(30);
    slow.open();
    expect(await client.next(forId(1))).toMatchObject({ result: { type: 'data' } });
    await sleep(100); // more revalidation rounds
    client.send(meFrame(2));
    expect(await client.next(forId(2))).toMatchObject({ result: { data: { role: 'member', token: 'alice:member' } } });
  });

  it('re-runs held subscriptions when a grant change is followed by a revalidate that changes nothing', async () => {
    const tokens = createAuthFixture();
    const slow = gate();
    let revalidations = 0;
    const { fixture } = await serve({
      revalidateIntervalMs: 20,
      revalidate: (session: TestSession) => (revalidations++, session),
      authenticate: async (opts: AuthenticateOptions<TestSession, unknown>) => {
        if (opts.previous) await slow.opened;
        return tokens.authenticate(opts);
      },
    });
    const { client } = await signIn(connect, 'alice:admin');
    client.send({ id: 1, method: 'subscription', params: { path: 'publicRoom' } });
    await client.next(forId(1));
    client.send(authenticateFrame(2, 'alice:member'));
    await sleep(80); // a revalidation queues behind the authentication
    const before = revalidations;
    slow.open();
    expect(await client.next(forId(2))).toMatchObject({ result: { type: 'data' } });
    await expect.poll(() => revalidations).toBeGreaterThan(before);
    fixture.publish('public');
    await expect.poll(() => dataIds(client, 1)).toEqual([1]);
  });

  it('refuses a revalidate result that has already expired (4401): nothing is delivered under it', async () => {
    const { fixture } = await serve({
      refreshAheadMs: 20,
      expiryGraceMs: 5_000,
      revalidateIntervalMs: 40,
      revalidate: (session: TestSession) => ({ ...session }),
    });
    const { client, expiresAt } = await signIn(connect, 'alice:admin:400');
    client.send({ id: 1, method: 'subscription', params: { path: 'publicRoom' } });
    await client.next(forId(1));
    await sleep(expiresAt! + 20 - Date.now()); // expired, within the grace
    fixture.publish('public');
    expect((await client.closed).code).toBe(CloseCode.Unauthorized);
    expect(dataIds(client, 1)).toEqual([]);
  });
});

describe('revoke() against an authentication in flight', () => {
  it('catches a connect-time authentication that was still running: 4410, nothing runs', async () => {
    const tokens = createAuthFixture();
    const slow = gate();
    const { handler, fixture } = await serve({
      authenticate: async (opts: AuthenticateOptions<TestSession, unknown>) => {
        await slow.opened;
        return tokens.authenticate(opts);
      },
    });
    const client = await raw.connect('?connectionParams=1');
    client.send({ method: 'connectionParams', data: { token: 'carol:admin' } });
    client.send(meFrame(1));
    await sleep(30);
    expect(handler.revoke((session) => session.user === 'carol', { reason: 'carol left' })).toBe(0);
    slow.open();
    expect(await client.closed).toEqual({ code: CloseCode.Revoked, reason: 'carol left' });
    expect(fixture.executions).toEqual([]);
  });

  it('catches an in-band authentication that was still running; one that does not match goes live', async () => {
    const fixture = createAuthFixture();
    const slow = gate();
    const { handler } = await serve({
      authenticate: async (opts: AuthenticateOptions<TestSession, unknown>) => {
        if (opts.previous) await slow.opened;
        return fixture.authenticate(opts);
      },
    });
    const revoked = (await signIn(connect, 'alice:admin')).client;
    const kept = (await signIn(connect, 'dave:admin')).client;
    revoked.send(authenticateFrame(1, 'carol:admin'));
    kept.send(authenticateFrame(1, 'erin:admin'));
    await sleep(30);
    expect(handler.revoke((session) => session.user === 'carol')).toBe(0);
    slow.open();
    expect(await revoked.closed).toEqual({ code: CloseCode.Revoked, reason: 'session revoked' });
    expect(await kept.next(forId(1))).toMatchObject({ result: { type: 'data' } });
    kept.send(meFrame(2));
    expect(await kept.next(forId(2))).toMatchObject({ result: { data: { user: 'erin' } } });
  });
});

describe('around an expiry', () => {
  it('holds an event yielded after expiresAt while the loop was busy, and replays it after the refresh', async () => {
    const { fixture } = await serve({ refreshAheadMs: 10, expiryGraceMs: 5_000 });
    const { client, expiresAt } = await signIn(connect, 'alice:admin:500');
    client.send({ id: 1, method: 'subscription', params: { path: 'publicRoom' } });
    await client.next(forId(1));
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        while (Date.now() <= expiresAt! + 5); // busy past the expiry: its timer has not fired yet
        fixture.publish('public');
        resolve();
      }, expiresAt! - 40 - Date.now()),
    );
    await sleep(50);
    expect(dataIds(client, 1)).toEqual([]);
    client.send(authenticateFrame(2, 'alice:admin:60000'));
    await client.next(forId(2));
    await expect.poll(() => dataIds(client, 1)).toEqual([1]);
  });

  it('refuses calls queued under an expired session when the refresh brings another principal', async () => {
    const { fixture } = await serve({ refreshAheadMs: 10, expiryGraceMs: 5_000 });
    const { client, expiresAt } = await signIn(connect, 'alice:admin:400');
    await sleep(expiresAt! + 50 - Date.now());
    client.send(meFrame(1));
    await sleep(30);
    client.send(authenticateFrame(2, 'bob:member:60000'));
    await client.next(forId(2));
    expect(await client.next(forId(1))).toMatchObject({ error: { data: { code: 'UNAUTHORIZED', path: 'me' } } });
    expect(fixture.executions.filter((e) => e.session?.user === 'bob')).toEqual([]);
    client.send(meFrame(3));
    expect(await client.next(forId(3))).toMatchObject({ result: { data: { user: 'bob' } } });
  });
});

describe('requestReauthentication()', () => {
  it('is satisfied only by credentials fetched after the request (answers ≥ its seq), not by a refresh already in flight', async () => {
    const { handler } = await serve({ authTimeoutMs: 200 });
    const stale = (await signIn(connect, 'alice:admin')).client;
    const fresh = (await signIn(connect, 'alice:member')).client;
    expect(handler.requestReauthentication((session) => session.user === 'alice')).toBe(2);
    const seqOf = async (client: typeof stale) => ((await client.next(method('lanyard.refresh'))) as { params: { seq: number } }).params.seq;
    const staleSeq = await seqOf(stale);
    const freshSeq = await seqOf(fresh);
    stale.send(authenticateFrame(1, 'alice:admin', staleSeq - 1)); // began before the request
    fresh.send(authenticateFrame(1, 'alice:member', freshSeq));
    expect(await stale.next(forId(1))).toMatchObject({ result: { type: 'data' } }); // processed as usual...
    expect(await fresh.next(forId(1))).toMatchObject({ result: { type: 'data' } });
    expect(await stale.closed).toEqual({ code: CloseCode.AuthTimeout, reason: 'no fresh credentials after the server asked for them' }); // ...but no answer
    await sleep(50);
    fresh.send(meFrame(2));
    expect(await fresh.next(forId(2))).toMatchObject({ result: { data: { user: 'alice' } } });
  });
});
