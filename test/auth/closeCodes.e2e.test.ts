/**
 * Every close code of the auth lifecycle, produced by our real server, and our client's
 * reaction to it: retry, refresh-then-retry (fresh credentials, asked for with reason
 * 'refused'), or stop and surface the code and reason. Calls already sent on a socket that is
 * then refused fail with the refusal (as with stock tRPC, a call that may have reached the
 * server is not silently re-sent); the next call goes out on the new socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { createTRPCClient } from '@trpc/client';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import type { CredentialsRequest, WsClient } from '../../src/client/index.js';
import { createWSClient, wsLink } from '../../src/client/index.js';
import type { AuthenticateOptions } from '../../src/server/index.js';
import type { AuthRouter, TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { NodeWebSocket } from '../fixtures/clients.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  /** What the server does with the n-th authentication (1-based); default: the fixture's. */
  authenticate?: (opts: AuthenticateOptions<TestSession, unknown>, n: number) => TestSession | Promise<TestSession>;
  /** The token the client sends for the n-th credentials request. */
  token: (n: number, request: CredentialsRequest) => string;
  server?: Record<string, unknown>;
}

async function run(setup: Setup) {
  const fixture = createAuthFixture();
  let authentications = 0;
  const server: RunningServer<TestSession> = await startServer<AuthRouter, TestSession>('lanyard', {
    router: fixture.router,
    authenticate: (opts) => {
      authentications++;
      return setup.authenticate ? setup.authenticate(opts, authentications) : fixture.authenticate(opts);
    },
    createContext: fixture.createContext,
    onError: () => undefined,
    ...setup.server,
  });
  cleanups.push(() => server.close());
  const closes: number[] = [];
  server.sockets.onOpen((socket) => socket.onClose((code) => closes.push(code)));
  const requests: CredentialsRequest['reason'][] = [];
  /** The close codes as our client saw them. */
  const clientCloses: Array<number | undefined> = [];
  let n = 0;
  const wsClient: WsClient = createWSClient({
    url: server.url,
    WebSocket: NodeWebSocket,
    retryDelayMs: () => 20,
    onClose: (cause) => clientCloses.push(cause?.code),
    connectionParams: (request) => {
      requests.push(request.reason);
      return { token: setup.token(++n, request) };
    },
  });
  cleanups.push(() => wsClient.close());
  const trpc = createTRPCClient<AuthRouter>({ links: [wsLink<AuthRouter>({ client: wsClient })] });
  return { fixture, server, wsClient, trpc, closes, clientCloses, requests };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('refresh-then-retry', () => {
  it('4401 Unauthorized: asks for fresh credentials (reason "refused") and gets in with them', async () => {
    const { trpc, closes, requests } = await run({ token: (n) => (n === 1 ? 'bad' : 'alice:member') });
    await expect(trpc.me.query()).rejects.toMatchObject({ message: 'bad token', data: { code: 'UNAUTHORIZED' } });
    await expect.poll(() => trpc.me.query().catch(() => null)).toMatchObject({ user: 'alice' });
    expect(closes).toContain(CloseCode.Unauthorized);
    expect(requests.slice(0, 2)).toEqual(['connect', 'refused']);
  });

  it('4419 SessionExpired: a session whose refresh failed expires, then fresh credentials reconnect it', async () => {
    const { trpc, closes, requests, wsClient } = await run({
      token: (n, request) => {
        if (request.reason === 'refresh') throw new Error('token service down');
        return `alice:member:${n === 1 ? 300 : 60_000}`;
      },
      server: { refreshAheadMs: 100, expiryGraceMs: 100 },
    });
    expect(await trpc.me.query()).toMatchObject({ user: 'alice' });
    await expect.poll(() => closes, { timeout: 3000 }).toContain(CloseCode.SessionExpired);
    await expect.poll(() => wsClient.stats.socketsOpened, { timeout: 3000 }).toBe(2);
    expect(requests).toContain('refused');
    expect(await trpc.me.query()).toMatchObject({ user: 'alice' });
  });
});

describe('retry with backoff', () => {
  it('4408 AuthTimeout: retries and gets in once authenticate answers in time', async () => {
    const { trpc, closes } = await run({
      token: () => 'alice:member',
      authenticate: (opts, n) => (n === 1 ? new Promise<TestSession>(() => {}) : createAuthFixture().authenticate(opts)),
      server: { authTimeoutMs: 150 },
    });
    await expect(trpc.me.query()).rejects.toMatchObject({ cause: { code: CloseCode.AuthTimeout } });
    await expect.poll(() => trpc.me.query().catch(() => null)).toMatchObject({ user: 'alice' });
    expect(closes).toEqual([CloseCode.AuthTimeout]);
  });

  it('4500 InternalError: retries after authenticate crashed', async () => {
    const { trpc, closes } = await run({
      token: () => 'alice:member',
      authenticate: (opts, n) => {
        if (n === 1) throw new Error('database down');
        return createAuthFixture().authenticate(opts);
      },
    });
    await expect(trpc.me.query()).rejects.toMatchObject({ data: { code: 'INTERNAL_SERVER_ERROR' } });
    await expect.poll(() => trpc.me.query().catch(() => null)).toMatchObject({ user: 'alice' });
    expect(closes).toEqual([CloseCode.InternalError]);
  });

  it('4413 PayloadTooLarge: credentials over the pre-auth limit close the socket; the client keeps retrying', async () => {
    const { clientCloses, wsClient } = await run({ token: () => 'x'.repeat(20_000) });
    // Every state the client goes through, not one sample: a sample raced the next socket's
    // open under load ('pending' for the moment between its open and its 4413).
    const states = new Set<string>();
    const subscription = wsClient.connectionState.subscribe({ next: (state) => states.add(state.state) });
    cleanups.push(() => subscription.unsubscribe());
    // The server refuses the frame from its header and reads no further, so its own 'close'
    // event never sees the client's echo (1006); the code is what the client received.
    await expect.poll(() => clientCloses.length, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
    expect(new Set(clientCloses)).toEqual(new Set([CloseCode.PayloadTooLarge]));
    // It retries rather than stopping: another socket follows every 4413, and it never goes idle.
    const closedSoFar = clientCloses.length;
    await expect.poll(() => wsClient.stats.socketsOpened, { timeout: 3000 }).toBeGreaterThan(closedSoFar);
    expect([...states].every((state) => state === 'connecting' || state === 'pending')).toBe(true);
    expect(states).toContain('connecting');
  });

  it('4429 RateLimited: too many calls waiting for the session close the socket; the client reconnects', async () => {
    const { trpc, closes, wsClient } = await run({
      token: () => 'alice:member',
      authenticate: async (opts, n) => {
        if (n === 1) await sleep(100);
        return createAuthFixture().authenticate(opts);
      },
      server: { maxQueuedCallsBeforeReady: 2 },
    });
    const first = await Promise.allSettled([1, 2, 3, 4].map(() => trpc.ping.query()));
    expect(first.some((r) => r.status === 'rejected')).toBe(true);
    await expect.poll(() => closes).toEqual([CloseCode.RateLimited]);
    await expect.poll(() => trpc.ping.query().catch(() => null)).toBe('pong');
    expect(wsClient.stats.socketsOpened).toBe(2);
  });
});

describe('stop', () => {
  it('4403 Forbidden: stops, surfaces the code, and does not reconnect', async () => {
    const { trpc, closes, wsClient } = await run({ token: () => 'banned:member' });
    await expect(trpc.me.query()).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await sleep(150);
    expect(closes).toEqual([CloseCode.Forbidden]);
    expect(wsClient.stats.socketsOpened).toBe(1);
    const state = wsClient.connectionState.get();
    expect(state.state).toBe('connecting');
    expect(state.error?.cause).toMatchObject({ code: CloseCode.Forbidden });
  });

  it('4410 Revoked: stops and surfaces the revoke reason', async () => {
    const { trpc, server, wsClient } = await run({ token: () => 'alice:member' });
    await trpc.me.query();
    expect(server.handler!.revoke((s) => s.user === 'alice', { reason: 'account closed' })).toBe(1);
    await expect.poll(() => wsClient.connectionState.get().error).not.toBeNull();
    expect(wsClient.connectionState.get().error?.cause).toMatchObject({ code: CloseCode.Revoked, reason: 'account closed' });
    await sleep(150);
    expect(wsClient.stats.socketsOpened).toBe(1);
  });
});

it('refuses in-band credentials as UNAUTHORIZED without closing (a TRPCError from authenticate)', async () => {
  const { wsClient, trpc } = await run({
    token: (n) => (n === 1 ? 'alice:member' : 'bad'),
    authenticate: (opts, n) => {
      if (n > 1) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'nope' });
      return createAuthFixture().authenticate(opts);
    },
  });
  await trpc.me.query();
  await expect.poll(() => wsClient.session).not.toBeNull();
  await expect(wsClient.reauthenticate()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  expect(await trpc.me.query()).toMatchObject({ user: 'alice' });
});
