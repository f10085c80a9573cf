/**
 * The demo server without a browser, on real sockets: its `authenticate` takes the role from
 * the user store, not from the token, at connect time and in band.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTRPCClient, TRPCClientError } from '@trpc/client';
import { createWSClient, wsLink } from 'trpc-lanyard/client';
import type { WsClient } from 'trpc-lanyard/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DemoServer } from '../../examples/demo/server/app.js';
import { startDemoServer, WS_PATH } from '../../examples/demo/server/app.js';
import type { DemoRouter } from '../../examples/demo/server/router.js';
import { NodeWebSocket } from '../fixtures/clients.js';

const poll = { timeout: 10_000, interval: 50 };

/** Signs in over HTTP as the page does: the first access token and the refresh cookie. */
async function signIn(baseUrl: string, name: string): Promise<{ token: string; cookie: string }> {
  const response = await fetch(`${baseUrl}/api/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  const { token } = (await response.json()) as { token: string };
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { token, cookie };
}

/** A new access token for the cookie's user, from `/api/token`. */
async function fetchToken(baseUrl: string, cookie: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/token`, { method: 'POST', headers: { cookie } });
  return ((await response.json()) as { token: string }).token;
}

/** Token expiries are whole seconds: wait until a token issued now expires later than one issued before. */
async function nextSecond(): Promise<void> {
  const second = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === second) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('the demo server', () => {
  let server: DemoServer;
  let staticDir: string;
  const clients: WsClient[] = [];

  /** A client whose `connectionParams` hands out `tokens` in order, then repeats the last one. */
  function connect(tokens: readonly string[]) {
    let next = 0;
    const wsClient = createWSClient({
      url: server.url.replace('http', 'ws') + WS_PATH,
      WebSocket: NodeWebSocket,
      connectionParams: () => ({ token: tokens[Math.min(next++, tokens.length - 1)] ?? '' }),
    });
    clients.push(wsClient);
    return createTRPCClient<DemoRouter>({ links: [wsLink<DemoRouter>({ client: wsClient })] });
  }

  function watchPrivateRoom(trpc: ReturnType<typeof connect>) {
    const seen: { error: unknown } = { error: null };
    trpc.privateRoom.subscribe({}, { onError: (error) => (seen.error = error) });
    return seen;
  }

  beforeAll(async () => {
    staticDir = await mkdtemp(join(tmpdir(), 'lanyard-demo-static-'));
    server = await startDemoServer({ port: 0, host: '127.0.0.1', tokenTtlSeconds: 60, refreshAheadMs: 5_000, expiryGraceMs: 2_000, botIntervalMs: 0, staticDir });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await server?.close();
    if (staticDir) await rm(staticDir, { recursive: true, force: true });
  });

  it('gives a connecting token that still says admin the role the store holds now: member', async () => {
    const { token: adminToken } = await signIn(server.url, 'Ada');
    const first = connect([adminToken]);
    expect(await first.me.query()).toMatchObject({ name: 'Ada', role: 'admin' });
    await first.changeRole.mutate({ role: 'member' });

    // A second socket presents the same token, unexpired, whose claim still says admin.
    const second = connect([adminToken]);
    expect(await second.me.query()).toMatchObject({ role: 'member' });
    const privateRoom = watchPrivateRoom(second);
    await expect.poll(() => privateRoom.error, poll).toBeInstanceOf(TRPCClientError);
    expect((privateRoom.error as TRPCClientError<DemoRouter>).data?.code).toBe('FORBIDDEN');
  });

  it('refuses the token of a user it does not know (it restarted) with 4401, so the client fetches a new one, not with 4403', async () => {
    const secret = new TextEncoder().encode('a key both servers share');
    const options = { port: 0, host: '127.0.0.1', tokenTtlSeconds: 60, refreshAheadMs: 5_000, expiryGraceMs: 2_000, botIntervalMs: 0, staticDir, secret };
    const before = await startDemoServer(options);
    const { token } = await signIn(before.url, 'Ada');
    await before.close();
    const after = await startDemoServer(options); // the same key: the token verifies; the user is gone
    try {
      const closeCodes: Array<number | undefined> = [];
      const wsClient = createWSClient({
        url: after.url.replace('http', 'ws') + WS_PATH,
        WebSocket: NodeWebSocket,
        connectionParams: () => ({ token }),
        onClose: (cause) => closeCodes.push(cause?.code),
      });
      clients.push(wsClient);
      await expect.poll(() => closeCodes[0], poll).toBeDefined();
      expect(closeCodes[0]).toBe(4401);
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await after.close();
    }
  });

  it('ends the private room when a demoted client answers the re-authentication with an admin token fetched before', async () => {
    const { token: first, cookie } = await signIn(server.url, 'Mallory');
    await nextSecond();
    // Fresher than the first (it expires later), fetched while the user was still admin.
    const kept = await fetchToken(server.url, cookie);
    const trpc = connect([first, kept]);
    const privateRoom = watchPrivateRoom(trpc);
    expect(await trpc.me.query()).toMatchObject({ role: 'admin' });

    await trpc.changeRole.mutate({ role: 'member' }); // the server asks; the client answers with `kept`
    await expect.poll(() => privateRoom.error, poll).toBeInstanceOf(TRPCClientError);
    expect((privateRoom.error as TRPCClientError<DemoRouter>).data?.code).toBe('FORBIDDEN');
    expect(await trpc.me.query()).toMatchObject({ role: 'member' });
  });
});
