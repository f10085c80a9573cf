/** The auth lifecycle end to end: our client, our server, real sockets (and a real HTTP server). */
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpBatchLink, splitLink, TRPCClientError } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { afterEach, expect, it, vi } from 'vitest';
import { createTokenSource, createWSClient, wsLink } from '../../src/client/index.js';
import type { WsClient } from '../../src/client/index.js';
import type { AuthRouter, TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { NodeWebSocket } from '../fixtures/clients.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(extra: Record<string, unknown> = {}): Promise<{ fixture: ReturnType<typeof createAuthFixture>; server: RunningServer<TestSession> }> {
  const fixture = createAuthFixture();
  const server = await startServer<AuthRouter, TestSession>('lanyard', {
    router: fixture.router,
    authenticate: fixture.authenticate,
    createContext: fixture.createContext,
    ...extra,
  });
  cleanups.push(() => server.close());
  return { fixture, server };
}

function connect(url: string, connectionParams: ConstructorParameters<typeof WsClient>[0]['connectionParams']) {
  const wsClient = createWSClient({ url, WebSocket: NodeWebSocket, connectionParams, retryDelayMs: () => 10 });
  cleanups.push(() => wsClient.close());
  return { wsClient, trpc: createTRPCClient<AuthRouter>({ links: [wsLink<AuthRouter>({ client: wsClient })] }) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

it('refreshes a 30-second token in band for two minutes while a tracked subscription streams: nothing lost, nothing twice, one socket', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: 1_700_000_000_000 });
  const { fixture, server } = await serve(); // refreshAheadMs 30 s, capped at half of the 30 s lifetime
  let issued = 0;
  const { wsClient, trpc } = connect(server.url, () => ({ token: `alice:member:30000#${++issued}` }));
  const seen: number[] = [];
  const errors: unknown[] = [];
  trpc.publicRoom.subscribe({}, { onData: (e) => seen.push(e.data.seq), onError: (e) => errors.push(e) });
  while (fixture.listeners() === 0) await turn();

  const published: number[] = [];
  for (let elapsedMs = 0; elapsedMs < 120_000; elapsedMs += 250) {
    published.push(fixture.publish('public').seq);
    vi.advanceTimersByTime(250);
    for (let i = 0; i < 4; i++) await turn();
  }
  for (let i = 0; i < 2_000 && seen.length < published.length; i++) await turn();

  expect(seen).toEqual(published);
  expect(errors).toEqual([]);
  expect(wsClient.stats.socketsOpened).toBe(1);
  expect(wsClient.stats.refreshes).toBeGreaterThanOrEqual(7);
  expect(issued).toBe(wsClient.stats.refreshes + 1);
  expect(server.sockets.open.length).toBe(1);
});

it('after a principal change the subscription the new identity may not read ends with FORBIDDEN; the other goes on without a gap', async () => {
  const { fixture, server } = await serve();
  let token = 'alice:admin';
  const { wsClient, trpc } = connect(server.url, () => ({ token }));
  const adminSeen: number[] = [];
  const publicSeen: number[] = [];
  const adminErrors: unknown[] = [];
  trpc.adminRoom.subscribe({}, { onData: (e) => adminSeen.push(e.data.seq), onError: (e) => adminErrors.push(e) });
  trpc.publicRoom.subscribe({}, { onData: (e) => publicSeen.push(e.data.seq) });
  await expect.poll(() => fixture.listeners()).toBe(2);
  fixture.publish('admin');
  const published: number[] = [];
  const publishing = (async () => {
    for (let i = 0; i < 60; i++) {
      published.push(fixture.publish('public').seq);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 15));
  token = 'bob:member';
  await wsClient.reauthenticate();
  await publishing;
  await expect.poll(() => publicSeen.length).toBe(published.length);
  expect(publicSeen).toEqual(published);
  expect(adminSeen).toEqual([1]);
  expect(adminErrors).toHaveLength(1);
  expect(adminErrors[0]).toBeInstanceOf(TRPCClientError);
  expect(adminErrors[0]).toMatchObject({ message: 'admins only', data: { code: 'FORBIDDEN' } });
  expect(wsClient.stats.socketsOpened).toBe(1);
  expect(await trpc.me.query()).toMatchObject({ user: 'bob', role: 'member' });
});

it('beside HTTP links: a token refreshed by an HTTP call is pushed to the socket in band', async () => {
  const { fixture, server } = await serve();
  const http = createHTTPServer({
    router: fixture.router,
    createContext: ({ req }) => {
      const authorization = req.headers.authorization?.replace(/^Bearer /, '');
      return { session: authorization ? fixture.authenticate({ connectionParams: { token: authorization }, headers: {}, cookies: {}, queryToken: null, url: null, req, previous: null, signal: new AbortController().signal }) : null };
    },
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => http.close(resolve)));
  const httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  let current = 'alice:admin:60000#0';
  const bootstrap = createTRPCClient<AuthRouter>({ links: [httpBatchLink({ url: httpUrl, headers: () => ({ authorization: `Bearer ${current}` }) })] });
  const tokens = createTokenSource({
    fetchToken: async () => {
      current = await bootstrap.issueToken.mutate(); // the HTTP refresh endpoint
      return current;
    },
  });
  const wsClient = createWSClient({ url: server.url, WebSocket: NodeWebSocket, connectionParams: async (request) => ({ token: await tokens.get(request) }) });
  cleanups.push(() => wsClient.close());
  cleanups.push(tokens.subscribe(() => void wsClient.reauthenticate()));
  const trpc = createTRPCClient<AuthRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink<AuthRouter>({ client: wsClient }),
        false: httpBatchLink({ url: httpUrl, headers: async () => ({ authorization: `Bearer ${await tokens.get()}` }) }),
      }),
    ],
  });
  const seen: number[] = [];
  trpc.publicRoom.subscribe({}, { onData: (e) => seen.push(e.data.seq) });
  await expect.poll(() => fixture.listeners()).toBe(1);
  const firstToken = (await trpc.me.query()).token; // over HTTP
  await tokens.refresh(); // e.g. after a 401 on an HTTP call
  await expect.poll(() => wsClient.stats.refreshes).toBe(1);
  const secondToken = (await trpc.me.query()).token;
  expect(secondToken).not.toBe(firstToken);
  // The socket's session moved to the new token: the default sameAuthorization sees a different
  // session (the token is part of it), so the subscription was re-authorised under it.
  const runs = fixture.executions.filter((e) => e.path === 'publicRoom');
  expect(runs.map((e) => e.session?.token)).toEqual([firstToken, secondToken]);
  fixture.publish('public');
  await expect.poll(() => seen).toEqual([1]);
  expect(wsClient.stats.socketsOpened).toBe(1);
});
