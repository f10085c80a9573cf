/**
 * Per-subscription grants end to end: our client with a grant provider against our server's
 * `requireGrant` (refreshed in band) and against stock tRPC's handler (renewed by subscribing
 * again), real sockets.
 */
import { createTRPCClient, TRPCClientError } from '@trpc/client';
import type { CreateWSSContextFnOptions } from '@trpc/server/adapters/ws';
import { afterEach, expect, it, vi } from 'vitest';
import type { GrantProvider, GrantRequest, WsClient } from '../../src/client/index.js';
import { createWSClient, wsLink } from '../../src/client/index.js';
import { grantErrorReason, GrantReason } from '../../src/protocol/index.js';
import { NodeWebSocket } from '../fixtures/clients.js';
import type { GrantFixture, GrantRouter, GrantSession } from '../fixtures/grantRouter.js';
import { createGrantFixture } from '../fixtures/grantRouter.js';
import { startServer } from '../fixtures/servers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function serveLanyard(fixture: GrantFixture) {
  const server = await startServer<GrantRouter, GrantSession>('lanyard', {
    router: fixture.router,
    authenticate: fixture.authenticate,
    createContext: fixture.createContext,
  });
  cleanups.push(() => server.close());
  return server;
}

async function serveStock(fixture: GrantFixture) {
  const server = await startServer<GrantRouter>('stock', {
    router: fixture.router,
    createContext: ({ info }: CreateWSSContextFnOptions) => ({ session: { user: info.connectionParams?.['token'] ?? 'nobody' } }),
  });
  cleanups.push(() => server.close());
  return server;
}

function connect(url: string, grant: GrantProvider): { wsClient: WsClient; trpc: ReturnType<typeof createTRPCClient<GrantRouter>> } {
  const wsClient = createWSClient({ url, WebSocket: NodeWebSocket, connectionParams: { token: 'alice' }, retryDelayMs: () => 10 });
  cleanups.push(() => wsClient.close());
  return { wsClient, trpc: createTRPCClient<GrantRouter>({ links: [wsLink<GrantRouter>({ client: wsClient, grant })] }) };
}

/** A provider that issues `lifetimeMs` grants for alice on the requested document, recording each request. */
function issuer(fixture: GrantFixture, lifetimeMs: number) {
  const requests: GrantRequest[] = [];
  const grant: GrantProvider = (request) => {
    requests.push(request);
    return fixture.issue((request.input as { docId: string }).docId, 'alice', lifetimeMs);
  };
  return { grant, requests, reasons: () => requests.map((r) => r.reason) };
}

it('refreshes a 2-second grant in band for 12 seconds while the subscription streams: every event exactly once, one socket, one run', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: 1_700_000_000_000 });
  const fixture = createGrantFixture(); // `doc`: refreshAheadMs 1 s, graceMs 0.5 s
  const server = await serveLanyard(fixture);
  const provider = issuer(fixture, 2_000);
  const { wsClient, trpc } = connect(server.url, provider.grant);
  const seen: number[] = [];
  const errors: unknown[] = [];
  trpc.doc.subscribe({ docId: 'd1' }, { onData: (e) => seen.push(e.data.seq), onError: (e) => errors.push(e) });
  while (fixture.running('doc', 'd1') === 0) await turn();

  const published: number[] = [];
  for (let elapsedMs = 0; elapsedMs < 12_000; elapsedMs += 100) {
    published.push(fixture.publish('d1').seq);
    vi.advanceTimersByTime(100);
    for (let i = 0; i < 4; i++) await turn();
  }
  for (let i = 0; i < 2_000 && seen.length < published.length; i++) await turn();

  expect(errors).toEqual([]);
  expect(seen).toEqual(published);
  const refreshes = provider.requests.length - 1;
  expect(refreshes).toBeGreaterThanOrEqual(10);
  expect(provider.reasons()).toEqual(['subscribe', ...Array<string>(refreshes).fill('expiring')]);
  expect(wsClient.stats.grantRefreshes).toBe(refreshes);
  expect(wsClient.stats.socketsOpened).toBe(1);
  expect(fixture.running('doc', 'd1')).toBe(1); // never re-run: the refreshes went in band
  expect(fixture.verifications.every((v) => v.ok)).toBe(true);
  expect(fixture.verifications.map((v) => v.input)).toEqual(Array(refreshes + 1).fill({ docId: 'd1' })); // the token never in the input
});

it('fails the subscription with grant-refused when the server refuses the refreshed token', async () => {
  const fixture = createGrantFixture({ refreshAheadMs: 300, graceMs: 300 });
  const server = await serveLanyard(fixture);
  const provider = issuer(fixture, 700);
  const { trpc } = connect(server.url, provider.grant);
  const errors: unknown[] = [];
  trpc.doc.subscribe({ docId: 'd1' }, { onError: (e) => errors.push(e) });
  await vi.waitFor(() => expect(fixture.running('doc', 'd1')).toBe(1));
  fixture.withdraw('d1', 'alice');
  await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 3_000 });
  expect(errors[0]).toBeInstanceOf(TRPCClientError);
  expect(grantErrorReason(errors[0])).toBe(GrantReason.Refused);
  expect(provider.reasons()).toEqual(['subscribe', 'expiring']);
  await vi.waitFor(() => expect(fixture.running('doc', 'd1')).toBe(0));
});

it('stops the subscription on the server when the provider withdraws the grant at refresh time', async () => {
  const fixture = createGrantFixture({ refreshAheadMs: 300, graceMs: 300 });
  const server = await serveLanyard(fixture);
  const requests: GrantRequest[] = [];
  const { trpc } = connect(server.url, (request) => {
    requests.push(request);
    return request.reason === 'expiring' ? null : fixture.issue('d1', 'alice', 700);
  });
  const errors: unknown[] = [];
  trpc.doc.subscribe({ docId: 'd1' }, { onError: (e) => errors.push(e) });
  await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 3_000 });
  expect(grantErrorReason(errors[0])).toBe(GrantReason.Withdrawn);
  await vi.waitFor(() => expect(fixture.running('doc', 'd1')).toBe(0));
});

it('against stock tRPC, renews a grant the server ends (grant-expired) by subscribing again with a fresh token: every event exactly once', async () => {
  const fixture = createGrantFixture({ refreshAheadMs: 200 });
  const server = await serveStock(fixture);
  const provider = issuer(fixture, 600); // ended 200 ms before it expires: every 400 ms
  const { wsClient, trpc } = connect(server.url, provider.grant);
  const seen: number[] = [];
  const errors: unknown[] = [];
  const lifecycle: string[] = [];
  trpc.doc.subscribe(
    { docId: 'd1' },
    { onStarted: () => lifecycle.push('started'), onData: (e) => seen.push(e.data.seq), onError: (e) => errors.push(e) },
  );
  await vi.waitFor(() => expect(fixture.running('doc', 'd1')).toBe(1));
  const published: number[] = [];
  const until = Date.now() + 2_000;
  while (Date.now() < until) {
    published.push(fixture.publish('d1').seq);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(published.length), { timeout: 3_000 });
  expect(errors).toEqual([]);
  expect(seen).toEqual(published);
  expect(lifecycle).toEqual(['started']);
  expect(provider.requests.length).toBeGreaterThanOrEqual(4);
  expect(provider.reasons().slice(1).every((r) => r === 'expiring')).toBe(true);
  expect(wsClient.stats.socketsOpened).toBe(1);
  expect(fixture.verifications.every((v) => v.ok)).toBe(true);
});

it('asks for a token again (resume) after the socket drops, and the subscription goes on from its last event on the new socket', async () => {
  const fixture = createGrantFixture();
  const server = await serveLanyard(fixture);
  const provider = issuer(fixture, 60_000);
  const { wsClient, trpc } = connect(server.url, provider.grant);
  const seen: number[] = [];
  const errors: unknown[] = [];
  trpc.doc.subscribe({ docId: 'd1' }, { onData: (e) => seen.push(e.data.seq), onError: (e) => errors.push(e) });
  await vi.waitFor(() => expect(fixture.running('doc', 'd1')).toBe(1));
  const before = [fixture.publish('d1').seq, fixture.publish('d1').seq];
  await vi.waitFor(() => expect(seen).toEqual(before));
  server.sockets.terminateAll();
  const during = [fixture.publish('d1').seq, fixture.publish('d1').seq];
  await vi.waitFor(() => expect(wsClient.stats.socketsOpened).toBe(2));
  await vi.waitFor(() => expect(seen).toEqual([...before, ...during]), { timeout: 3_000 });
  const after = fixture.publish('d1').seq;
  await vi.waitFor(() => expect(seen).toEqual([...before, ...during, after]));
  expect(provider.reasons()).toEqual(['subscribe', 'resume']);
  expect(errors).toEqual([]);
});

it('keeps the token when a reconnect notification moves the subscription to a new socket (no provider call, nothing lost)', async () => {
  const fixture = createGrantFixture();
  const server = await serveLanyard(fixture);
  const provider = issuer(fixture, 60_000);
  const { wsClient, trpc } = connect(server.url, provider.grant);
  const seen: number[] = [];
  const errors: unknown[] = [];
  trpc.doc.subscribe({ docId: 'd1' }, { onData: (e) => seen.push(e.data.seq), onError: (e) => errors.push(e) });
  await vi.waitFor(() => expect(fixture.running('doc', 'd1')).toBe(1));
  const published = [fixture.publish('d1').seq];
  server.broadcastReconnectNotification();
  await vi.waitFor(() => expect(wsClient.stats.socketsOpened).toBe(2));
  await vi.waitFor(() => expect(server.sockets.open).toHaveLength(1), { timeout: 3_000 }); // the old socket drained and closed
  published.push(fixture.publish('d1').seq);
  await vi.waitFor(() => expect(seen).toEqual(published));
  expect(provider.reasons()).toEqual(['subscribe']);
  expect(fixture.verifications.map((v) => v.token)).toEqual(['grant-1', 'grant-1']); // the move re-verified the same token
  expect(errors).toEqual([]);
});

it('does not ask for a token when the socket closes for good (a revocation): the subscription fails with the close', async () => {
  const fixture = createGrantFixture();
  const server = await serveLanyard(fixture);
  const provider = issuer(fixture, 60_000);
  const { trpc } = connect(server.url, provider.grant);
  const errors: unknown[] = [];
  trpc.doc.subscribe({ docId: 'd1' }, { onError: (e) => errors.push(e) });
  await vi.waitFor(() => expect(fixture.running('doc', 'd1')).toBe(1));
  server.handler!.revoke(() => true, { reason: 'revoked in a test' });
  await vi.waitFor(() => expect(errors).toHaveLength(1));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(provider.reasons()).toEqual(['subscribe']);
  expect(grantErrorReason(errors[0])).toBeNull();
});
