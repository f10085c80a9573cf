/**
 * The client's side of the auth lifecycle against our real server (PROTOCOL.md § 5.1):
 * in-band refresh on expiry and on request, reauthenticate(), revoke.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTRPCClient, TRPCClientError } from '@trpc/client';
import { TRPCError } from '@trpc/server';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { TRPCWebSocketClosedError, WebSocketClientOptions, WsClient } from '../../src/client/index.js';
import { createTokenSource, createWSClient, wsLink } from '../../src/client/index.js';
import { applyWSSHandler } from '../../src/server/index.js';
import { NodeWebSocket } from '../fixtures/clients.js';
import type { TestRouter } from '../fixtures/router.js';
import { createTestRouter } from '../fixtures/router.js';

interface Session {
  readonly user: string;
  readonly token: string;
  readonly expiresAt?: number | null;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(predicate: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Our server, authenticating `{ token: 'ok-<user>' }` into a session of `lifetimeMs` (none: no
 * expiry). A token `ok-<user>.<n>.<expiresAtMs>` carries its own expiry: refused once it passed.
 * `setOffline(true)` drops every socket and refuses upgrades until `setOffline(false)`.
 */
async function serve(opts: { lifetimeMs?: number; refreshAheadMs?: number } = {}) {
  const fixture = createTestRouter();
  let offline = false;
  const refusedTokens: string[] = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: (_info, accept) => accept(!offline, 503) });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const handler = applyWSSHandler<TestRouter, Session>({
    wss,
    router: fixture.router,
    authenticate: ({ connectionParams }) => {
      const token = connectionParams?.['token'] ?? '';
      if (token.startsWith('forbidden')) throw new TRPCError({ code: 'FORBIDDEN' });
      const tokenExpiresAt = token.split('.')[2];
      if (!token.startsWith('ok-') || (tokenExpiresAt !== undefined && Number(tokenExpiresAt) <= Date.now())) {
        refusedTokens.push(token);
        throw new TRPCError({ code: 'UNAUTHORIZED' });
      }
      const expiresAt = tokenExpiresAt !== undefined ? Number(tokenExpiresAt) : opts.lifetimeMs === undefined ? null : Date.now() + opts.lifetimeMs;
      return { user: token.slice(3).split('.')[0]!, token, expiresAt };
    },
    createContext: ({ info }) => ({ params: info.connectionParams }),
    refreshAheadMs: opts.refreshAheadMs,
  });
  cleanups.push(async () => {
    handler.close();
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  const { port } = wss.address() as AddressInfo;
  const setOffline = (value: boolean) => {
    offline = value;
    if (value) for (const socket of wss.clients) socket.terminate();
  };
  return { url: `ws://127.0.0.1:${port}`, wss, handler, fixture, refusedTokens, setOffline };
}

function client(url: string, opts: Partial<WebSocketClientOptions> = {}) {
  const wsClient: WsClient = createWSClient({ url, WebSocket: NodeWebSocket, retryDelayMs: () => 10, ...opts });
  const trpc = createTRPCClient<TestRouter>({ links: [wsLink<TestRouter>({ client: wsClient })] });
  cleanups.push(() => wsClient.close());
  return { wsClient, trpc };
}

describe('our client ↔ our server', () => {
  it('is authenticated once the server confirms the session, with its expiry', async () => {
    const server = await serve({ lifetimeMs: 60_000 });
    const { wsClient, trpc } = client(server.url, { connectionParams: { token: 'ok-ann' } });
    expect(await trpc.whoami.query()).toEqual({ token: 'ok-ann' });
    await waitFor(() => wsClient.connectionState.get().auth === 'authenticated', 'authenticated');
    expect(wsClient.session?.expiresAt).toBeGreaterThan(Date.now());
  });

  it('connectionState emits only when tRPC’s own state or error changes; auth changes go to authState', async () => {
    const server = await serve({ lifetimeMs: 60_000 });
    const { wsClient, trpc } = client(server.url, { connectionParams: () => ({ token: 'ok-ivy' }) });
    const emitted: Array<{ state: string; error: unknown }> = [];
    wsClient.connectionState.subscribe({ next: (s) => emitted.push({ state: s.state, error: s.error }) });
    const auths: string[] = [];
    wsClient.authState.subscribe({ next: (s) => auths.push(s.auth) });
    await trpc.whoami.query();
    await waitFor(() => wsClient.session !== null, 'the session');
    await wsClient.reauthenticate();
    expect(emitted).toEqual([
      { state: 'connecting', error: null },
      { state: 'pending', error: null },
    ]);
    expect(auths).toEqual(['none', 'authenticating', 'authenticated', 'refreshing', 'authenticated']);
    expect(wsClient.connectionState.get()).toMatchObject({ state: 'pending', auth: 'authenticated', authError: null }); // get() is current
  });

  it('refreshes in-band before the session expires: same socket, subscription uninterrupted, new expiry', async () => {
    const server = await serve({ lifetimeMs: 400, refreshAheadMs: 200 });
    let n = 0;
    const reasons: string[] = [];
    const { wsClient, trpc } = client(server.url, {
      connectionParams: ({ reason }) => {
        reasons.push(reason);
        return { token: `ok-ann.${++n}` };
      },
    });
    const seqs: number[] = [];
    const errors: unknown[] = [];
    trpc.feed.subscribe({}, { onData: (event) => seqs.push(event.data.seq), onError: (e) => errors.push(e) });
    await waitFor(() => wsClient.session !== null, 'the session');
    const firstExpiry = wsClient.session!.expiresAt!;
    await waitFor(() => wsClient.stats.refreshes >= 2, 'two in-band refreshes');
    server.fixture.publish();
    await waitFor(() => seqs.length === 1, 'an event after the refreshes');
    expect(wsClient.session!.expiresAt).toBeGreaterThan(firstExpiry);
    expect(wsClient.stats.socketsOpened).toBe(1);
    expect(errors).toEqual([]);
    expect(reasons.slice(0, 3)).toEqual(['connect', 'refresh', 'refresh']);
    expect(await trpc.whoami.query()).toEqual({ token: `ok-ann.${n}` }); // new calls see the new credentials
  });

  it('answers requestReauthentication() in-band', async () => {
    const server = await serve();
    let n = 0;
    const { wsClient, trpc } = client(server.url, { connectionParams: () => ({ token: `ok-bob.${++n}` }) });
    await trpc.whoami.query();
    await waitFor(() => wsClient.session !== null, 'the session');
    expect(server.handler.requestReauthentication((s) => s.user === 'bob')).toBe(1);
    await waitFor(() => wsClient.stats.refreshes === 1, 'the refresh');
    expect(await trpc.whoami.query()).toEqual({ token: 'ok-bob.2' });
  });

  it('reauthenticate() pushes a token refreshed elsewhere (a token source shared with HTTP links) in-band', async () => {
    const server = await serve({ lifetimeMs: 60_000 });
    let issued = 0;
    const tokens = createTokenSource({ fetchToken: async () => `ok-cat.${++issued}` });
    const { wsClient, trpc } = client(server.url, { connectionParams: async (request) => ({ token: await tokens.get(request) }) });
    const unsubscribe = tokens.subscribe(() => wsClient.reauthenticate());
    cleanups.push(unsubscribe);
    expect(await trpc.whoami.query()).toEqual({ token: 'ok-cat.1' });
    await waitFor(() => wsClient.session !== null, 'the session');
    await tokens.refresh(); // e.g. an HTTP link got a 401
    await waitFor(() => wsClient.stats.refreshes === 1, 'the in-band refresh');
    expect(await trpc.whoami.query()).toEqual({ token: 'ok-cat.2' });
    expect(issued).toBe(2);
    expect(wsClient.stats.socketsOpened).toBe(1);
  });

  it('rejects a refused reauthenticate() with UNAUTHORIZED and keeps serving on the old session', async () => {
    const server = await serve();
    let token = 'ok-dan';
    const { wsClient, trpc } = client(server.url, { connectionParams: () => ({ token }) });
    await trpc.whoami.query();
    await waitFor(() => wsClient.session !== null, 'the session');
    token = 'bad';
    const error = await wsClient.reauthenticate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<TestRouter>).data?.code).toBe('UNAUTHORIZED');
    expect(await trpc.whoami.query()).toEqual({ token: 'ok-dan' });
  });

  it('stops on revoke() and surfaces 4410 with the revoke reason', async () => {
    const server = await serve();
    const { wsClient, trpc } = client(server.url, { connectionParams: { token: 'ok-eve' } });
    const errors: unknown[] = [];
    trpc.feed.subscribe({}, { onError: (e) => errors.push(e) });
    await waitFor(() => wsClient.session !== null, 'the session');
    expect(server.handler.revoke((s) => s.user === 'eve', { reason: 'password changed' })).toBe(1);
    await waitFor(() => errors.length === 1, 'the subscription to fail');
    const cause = (errors[0] as TRPCClientError<TestRouter>).cause as TRPCWebSocketClosedError;
    expect(cause.code).toBe(4410);
    expect(cause.reason).toBe('password changed');
    expect(wsClient.connectionState.get()).toMatchObject({ state: 'connecting', auth: 'none' });
    expect(wsClient.connectionState.get().error?.message).toBe('WebSocket closed'); // stock's message; code and reason in fields
    await sleep(50);
    expect(server.wss.clients.size).toBe(0); // no reconnect
  });

  it('stops on a FORBIDDEN re-authentication (the server closes 4403)', async () => {
    const server = await serve();
    let token = 'ok-fay';
    const { wsClient, trpc } = client(server.url, { connectionParams: () => ({ token }) });
    await trpc.whoami.query();
    await waitFor(() => wsClient.session !== null, 'the session');
    token = 'forbidden';
    const error = await wsClient.reauthenticate().catch((e: unknown) => e);
    expect((error as TRPCClientError<TestRouter>).data?.code).toBe('FORBIDDEN');
    await waitFor(() => wsClient.connectionState.get().error !== null, 'the 4403');
    expect(((wsClient.connectionState.get().error as TRPCClientError<TestRouter>).cause as TRPCWebSocketClosedError).code).toBe(4403);
  });
});

describe('a reconnect refused with stale credentials (4401)', () => {
  it('does not end subscriptions: offline longer than the token lives, they resume with no event lost or duplicated', async () => {
    const server = await serve({ refreshAheadMs: 100 });
    const lifetimeMs = 300;
    let issued = 0;
    let held = '';
    const reasons: string[] = [];
    const { wsClient, trpc } = client(server.url, {
      // A naive cache: it serves the token it holds unless the client says that one is stale.
      connectionParams: ({ reason }) => {
        reasons.push(reason);
        if (reason !== 'connect' || held === '') held = `ok-ann.${++issued}.${Date.now() + lifetimeMs}`;
        return { token: held };
      },
    });
    const ids: string[] = [];
    const errors: unknown[] = [];
    let completed = false;
    trpc.feed.subscribe(
      {},
      { onData: (event) => ids.push(event.id), onError: (e) => errors.push(e), onComplete: () => (completed = true) },
    );
    await waitFor(() => server.fixture.subscriberCount() === 1, 'the subscription');
    server.fixture.publish();
    await waitFor(() => ids.length === 1, 'the first event');

    server.setOffline(true);
    server.fixture.publish();
    server.fixture.publish();
    const heldExpiresAt = Number(held.split('.')[2]);
    await waitFor(() => Date.now() > heldExpiresAt + 50, 'the held token to expire', 5_000);
    server.setOffline(false);

    await waitFor(() => ids.length === 3, 'the events missed while offline', 5_000);
    server.fixture.publish();
    await waitFor(() => ids.length === 4, 'a live event after the resume');
    expect(ids).toEqual(['1', '2', '3', '4']);
    expect(errors).toEqual([]);
    expect(completed).toBe(false);
    expect(server.refusedTokens).toEqual([`ok-ann.${issued - 1}.${heldExpiresAt}`]); // the stale token was tried once
    expect(reasons).toContain('refused');
    expect(wsClient.connectionState.get()).toMatchObject({ state: 'pending', auth: 'authenticated', authError: null });
  });

  it('ends subscriptions with the typed refusal when the client gives up (4403)', async () => {
    const server = await serve();
    let token = 'ok-gus';
    const { wsClient, trpc } = client(server.url, { connectionParams: () => ({ token }) });
    const errors: unknown[] = [];
    trpc.feed.subscribe({}, { onError: (e) => errors.push(e) });
    await waitFor(() => server.fixture.subscriberCount() === 1, 'the subscription');
    token = 'forbidden';
    server.setOffline(true);
    server.setOffline(false);
    await waitFor(() => errors.length === 1, 'the subscription to fail');
    const error = errors[0] as TRPCClientError<TestRouter>;
    expect(error.data?.code).toBe('FORBIDDEN');
    expect((error.cause as TRPCWebSocketClosedError).code).toBe(4403);
    expect(wsClient.connectionState.get().state).toBe('connecting');
  });

  it('a token source that knows its token expired fetches a fresh one for the new socket: the stale one is never sent', async () => {
    const server = await serve();
    const lifetimeMs = 300;
    let issued = 0;
    const tokens = createTokenSource({
      fetchToken: async () => `ok-hal.${++issued}.${Date.now() + lifetimeMs}`,
      expiresAtMs: (token) => Number(token.split('.')[2]),
      expiryMarginMs: 0,
    });
    const { trpc } = client(server.url, { connectionParams: async (request) => ({ token: await tokens.get(request) }) });
    const ids: string[] = [];
    trpc.feed.subscribe({}, { onData: (event) => ids.push(event.id) });
    await waitFor(() => server.fixture.subscriberCount() === 1, 'the subscription');
    server.setOffline(true);
    server.fixture.publish();
    await sleep(lifetimeMs + 50); // the token held expires while offline
    server.setOffline(false);
    await waitFor(() => ids.length === 1, 'the event missed while offline', 5_000);
    expect(ids).toEqual(['1']);
    expect(server.refusedTokens).toEqual([]);
  });
});
