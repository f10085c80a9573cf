/**
 * The demo's document and its grants, without a browser, on real sockets: `doc.watch` streams
 * under a grant from `POST /api/doc-grant`, refreshed in band on one socket; `doc.withdraw` ends
 * only that subscription and the endpoint then refuses; the grant's `verify` refuses a token of
 * another user, an access token, and one issued before a withdrawal once access is restored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTRPCClient, TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { grantErrorReason, isSubscriptionEndedError } from 'trpc-lanyard';
import type { GrantProvider, GrantRequestReason, WsClient } from 'trpc-lanyard/client';
import { createWSClient, wsLink } from 'trpc-lanyard/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DemoServer } from '../../examples/demo/server/app.js';
import { startDemoServer, WS_PATH } from '../../examples/demo/server/app.js';
import { withdrawnReason } from '../../examples/demo/server/docGrant.js';
import type { DemoRouter } from '../../examples/demo/server/router.js';
import { NodeWebSocket } from '../fixtures/clients.js';

const poll = { timeout: 10_000, interval: 50 };

interface Account {
  readonly token: string;
  readonly cookie: string;
}

/** Signs in over HTTP as the page does: the first access token and the refresh cookie. */
async function signIn(baseUrl: string, name: string): Promise<Account> {
  const response = await fetch(`${baseUrl}/api/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  const { token } = (await response.json()) as { token: string };
  return { token, cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '' };
}

/** `POST /api/doc-grant?doc=roadmap` for the cookie's user: the status and the body. */
async function requestGrant(baseUrl: string, cookie: string): Promise<{ status: number; token?: string; expiresAt?: number; error?: string }> {
  const response = await fetch(`${baseUrl}/api/doc-grant?doc=roadmap`, { method: 'POST', headers: { cookie } });
  return { status: response.status, ...((await response.json()) as object) };
}

/** What one subscription received. */
interface Watch {
  readonly ids: string[];
  error: TRPCClientError<AnyTRPCRouter> | null;
}

describe('the demo document and its grants', () => {
  let server: DemoServer;
  let staticDir: string;
  const clients: WsClient[] = [];

  /** A client of `account` whose grant provider fetches from `/api/doc-grant` and logs why it was asked. */
  function connect(account: Account, reasons: GrantRequestReason[] = []) {
    const wsClient = createWSClient({ url: server.url.replace('http', 'ws') + WS_PATH, WebSocket: NodeWebSocket, connectionParams: () => ({ token: account.token }) });
    clients.push(wsClient);
    const grant: GrantProvider = async ({ path, reason }) => {
      if (path !== 'doc.watch') return undefined;
      reasons.push(reason);
      const answer = await requestGrant(server.url, account.cookie);
      return answer.status === 403 ? null : (answer.token ?? null);
    };
    const trpc = createTRPCClient<DemoRouter>({ links: [wsLink<DemoRouter>({ client: wsClient, grant })] });
    return { wsClient, trpc };
  }

  /** Subscribes to the document (with `token` as its grant instead of the provider's, if given). */
  function watchDoc(trpc: ReturnType<typeof connect>['trpc'], token?: string): Watch {
    const watch: Watch = { ids: [], error: null };
    trpc.doc.watch.subscribe(
      { docId: 'roadmap' },
      {
        ...(token === undefined ? {} : { context: { grant: token } }),
        onData: ({ id }) => void watch.ids.push(id),
        onError: (error) => (watch.error = error),
      },
    );
    return watch;
  }

  beforeAll(async () => {
    staticDir = await mkdtemp(join(tmpdir(), 'lanyard-demo-doc-'));
    // 2-second grants (whole seconds: 1–2 s of life), asked again 500 ms before expiry; the bot edits every 100 ms.
    server = await startDemoServer({ port: 0, host: '127.0.0.1', tokenTtlSeconds: 60, refreshAheadMs: 5_000, expiryGraceMs: 1_000, grantTtlSeconds: 2, grantRefreshAheadMs: 500, botIntervalMs: 100, staticDir });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await server?.close();
    if (staticDir) await rm(staticDir, { recursive: true, force: true });
  });

  it('streams the document under grants from /api/doc-grant, refreshed in band on one socket', async () => {
    const reasons: GrantRequestReason[] = [];
    const { wsClient, trpc } = connect(await signIn(server.url, 'Ada'), reasons);
    const doc = watchDoc(trpc);
    await expect.poll(() => reasons.filter((reason) => reason === 'expiring').length, poll).toBeGreaterThanOrEqual(2);
    const seen = doc.ids.length;
    await expect.poll(() => doc.ids.length, poll).toBeGreaterThan(seen);
    expect(doc.error).toBeNull();
    expect(reasons[0]).toBe('subscribe');
    await expect.poll(() => wsClient.stats.grantRefreshes, poll).toBeGreaterThanOrEqual(2); // accepted by the server
    expect(wsClient.stats.socketsOpened).toBe(1);
  });

  it('withdraw ends only the document subscription (FORBIDDEN, subscription-ended), and the endpoint then answers 403', async () => {
    const ada = await signIn(server.url, 'Ada');
    const { trpc } = connect(ada);
    const doc = watchDoc(trpc);
    const room: Watch = { ids: [], error: null };
    trpc.publicRoom.subscribe({}, { onData: ({ id }) => void room.ids.push(id), onError: (error) => (room.error = error) });
    await expect.poll(() => doc.ids.length, poll).toBeGreaterThan(0);

    expect(await trpc.doc.withdraw.mutate({ docId: 'roadmap' })).toEqual({ docId: 'roadmap', subscriptionsEnded: 1 });
    await expect.poll(() => doc.error, poll).toBeInstanceOf(TRPCClientError);
    expect(isSubscriptionEndedError(doc.error)).toBe(true);
    expect(doc.error?.data?.code).toBe('FORBIDDEN');
    expect(doc.error?.message).toBe(withdrawnReason('roadmap'));

    const seen = room.ids.length;
    await expect.poll(() => room.ids.length, poll).toBeGreaterThan(seen);
    expect(room.error).toBeNull();
    expect(await requestGrant(server.url, ada.cookie)).toMatchObject({ status: 403, error: withdrawnReason('roadmap') });

    // Subscribing again while withdrawn: the provider gets no grant and gives the subscription up.
    const again = watchDoc(trpc);
    await expect.poll(() => again.error, poll).toBeInstanceOf(TRPCClientError);
    expect(grantErrorReason(again.error)).toBe('grant-withdrawn');
  });

  it('after access is restored refuses a grant issued before the withdrawal, and accepts a fresh one', async () => {
    const ada = await signIn(server.url, 'Ada');
    const { trpc } = connect(ada);
    const old = await requestGrant(server.url, ada.cookie);
    await trpc.doc.withdraw.mutate({ docId: 'roadmap' });
    await trpc.doc.restore.mutate({ docId: 'roadmap' });

    const withOld = watchDoc(trpc, old.token);
    await expect.poll(() => withOld.error, poll).toBeInstanceOf(TRPCClientError);
    expect(grantErrorReason(withOld.error)).toBe('grant-refused');
    expect(withOld.error?.data?.code).toBe('FORBIDDEN');

    const fresh = watchDoc(trpc);
    await expect.poll(() => fresh.ids.length, poll).toBeGreaterThan(0);
    expect(fresh.error).toBeNull();
  });

  it("refuses another user's grant (FORBIDDEN), an access token as a grant (UNAUTHORIZED), and no grant at all", async () => {
    const ada = await signIn(server.url, 'Ada');
    const grace = await signIn(server.url, 'Grace');
    const { trpc } = connect(ada);
    const gracesGrant = (await requestGrant(server.url, grace.cookie)).token;

    const others = watchDoc(trpc, gracesGrant);
    const accessToken = watchDoc(trpc, ada.token);
    const none: Watch = { ids: [], error: null };
    trpc.doc.watch.subscribe({ docId: 'roadmap' }, { context: { grant: () => undefined }, onError: (error) => (none.error = error) });
    await expect.poll(() => [others.error, accessToken.error, none.error].every((error) => error !== null), poll).toBe(true);

    expect(grantErrorReason(others.error)).toBe('grant-refused');
    expect(others.error?.data?.code).toBe('FORBIDDEN');
    expect(grantErrorReason(accessToken.error)).toBe('grant-refused');
    expect(accessToken.error?.data?.code).toBe('UNAUTHORIZED');
    expect(grantErrorReason(none.error)).toBe('grant-required');
  });
});
