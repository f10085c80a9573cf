/**
 * The issue's scenario, literally: document subscriptions with 5-second resource grants streaming
 * for a minute through our client, with the server's default timing (asked half a grant's life
 * ahead, five seconds of grace). Tokens are refreshed in band, every event arrives exactly once and
 * the socket never closes; when the document service refuses one document's next token, only that
 * subscription ends (typed), and the other document and a subscription without a grant stream on.
 * Time is the subject, so the clock is fake (Date and timers) while the sockets are real.
 */
import { createTRPCClient } from '@trpc/client';
import { afterEach, expect, it, vi } from 'vitest';
import type { GrantProvider, GrantRequest } from '../../src/client/index.js';
import { createWSClient, wsLink } from '../../src/client/index.js';
import { grantErrorReason, GrantReason } from '../../src/protocol/index.js';
import { NodeWebSocket } from '../fixtures/clients.js';
import type { GrantRouter, GrantSession } from '../fixtures/grantRouter.js';
import { createGrantFixture } from '../fixtures/grantRouter.js';
import { startServer } from '../fixtures/servers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const turn = () => new Promise((resolve) => setImmediate(resolve));
const GRANT_MS = 5_000;
const MINUTE_MS = 60_000;
const TICK_MS = 100;

it('refreshes 5-second document grants in band for a minute: every event once, one socket; a refused document ends alone', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: 1_700_000_000_000 });
  // requireGrant's defaults (refreshAheadMs 30 s, clamped to half the grant's life; graceMs 5 s).
  const fixture = createGrantFixture({ refreshAheadMs: undefined, graceMs: undefined });
  const server = await startServer<GrantRouter, GrantSession>('lanyard', {
    router: fixture.router,
    authenticate: fixture.authenticate,
    createContext: fixture.createContext,
  });
  cleanups.push(() => server.close());
  const requests: GrantRequest[] = [];
  const grant: GrantProvider = (request) => {
    requests.push(request);
    return fixture.issue((request.input as { docId: string }).docId, 'alice', GRANT_MS);
  };
  const closes: number[] = [];
  const wsClient = createWSClient({ url: server.url, WebSocket: NodeWebSocket, connectionParams: { token: 'alice' }, onClose: (cause) => void closes.push(cause?.code ?? 0) });
  cleanups.push(() => wsClient.close());
  const trpc = createTRPCClient<GrantRouter>({ links: [wsLink<GrantRouter>({ client: wsClient, grant })] });

  const seen = { d1: [] as number[], d2: [] as number[], feed: [] as number[] };
  const errors = { d1: [] as unknown[], d2: [] as unknown[], feed: [] as unknown[] };
  trpc.doc.subscribe({ docId: 'd1' }, { onData: (e) => seen.d1.push(e.data.seq), onError: (e) => errors.d1.push(e) });
  trpc.doc.subscribe({ docId: 'd2' }, { onData: (e) => seen.d2.push(e.data.seq), onError: (e) => errors.d2.push(e) });
  trpc.feed.subscribe({ docId: 'd2' }, { onData: (e) => seen.feed.push(e.data.seq), onError: (e) => errors.feed.push(e) });
  for (let i = 0; i < 5_000 && (fixture.running('doc', 'd1') === 0 || fixture.running('doc', 'd2') === 0 || fixture.running('feed', 'd2') === 0); i++) await turn();

  const published = { d1: [] as number[], d2: [] as number[] };
  let withdrawnAt: number | null = null;
  for (let elapsedMs = 0; elapsedMs < MINUTE_MS; elapsedMs += TICK_MS) {
    published.d1.push(fixture.publish('d1').seq);
    published.d2.push(fixture.publish('d2').seq);
    if (elapsedMs === MINUTE_MS / 2) {
      fixture.withdraw('d1', 'alice'); // the document service refuses d1's next token
      withdrawnAt = Date.now();
    }
    vi.advanceTimersByTime(TICK_MS);
    for (let i = 0; i < 4; i++) await turn();
  }
  for (let i = 0; i < 5_000 && (seen.d2.length < published.d2.length || seen.feed.length < published.d2.length); i++) await turn();

  // d2 and the feed: every event, exactly once, in order, for the whole minute.
  expect(errors.d2).toEqual([]);
  expect(errors.feed).toEqual([]);
  expect(seen.d2).toEqual(published.d2);
  expect(seen.feed).toEqual(published.d2);
  // d1: ended alone, typed, at its first refresh after the withdrawal; what it got came once, in order, as published.
  expect(errors.d1).toHaveLength(1);
  expect(grantErrorReason(errors.d1[0])).toBe(GrantReason.Refused);
  expect(seen.d1).toEqual(published.d1.slice(0, seen.d1.length));
  expect(seen.d1.length).toBeGreaterThan(published.d1.length / 2 - 1);
  expect(seen.d1.length).toBeLessThan(published.d1.length / 2 + GRANT_MS / TICK_MS);
  expect(fixture.running('doc', 'd1')).toBe(0);
  expect(withdrawnAt).not.toBeNull();

  // In band all along: one socket, never closed. Asked half a grant's life ahead, d2's grant was refreshed every 2.5 s.
  const d2Refreshes = requests.filter((r) => (r.input as { docId: string }).docId === 'd2' && r.reason === 'expiring').length;
  expect(d2Refreshes).toBeGreaterThanOrEqual((MINUTE_MS / GRANT_MS) * 2 - 2);
  expect(requests.every((r) => r.reason === 'subscribe' || r.reason === 'expiring')).toBe(true);
  expect(wsClient.stats.socketsOpened).toBe(1);
  expect(closes).toEqual([]);
  expect(fixture.running('doc', 'd2')).toBe(1); // never re-run
});
