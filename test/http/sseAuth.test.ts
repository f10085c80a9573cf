/**
 * The auth lifecycle over SSE, with stock `httpSubscriptionLink` (and the `eventsource` package as
 * EventSource, Node 20 has none) against tRPC's standalone HTTP server and `createHttpAuth`:
 * credentials in a header from a `fetch` hook (never in a URL), streams that end typed before the
 * session expires and are opened again by the documented `retryLink` recipe with fresh credentials
 * and the last event id (every event once), revocation and re-authentication reaching SSE streams
 * through one registry with the WebSocket handler, and HTTP calls refused when expired.
 */
import { createTRPCClient, httpLink, httpSubscriptionLink, retryLink, TRPCClientError } from '@trpc/client';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { isSubscriptionEndedError, streamEndReason, StreamEndReason } from '../../src/protocol/index.js';
import { applyWSSHandler } from '../../src/server/index.js';
import { bearerEventSourceOptions, createTokenSource, freshCredentialsRetry } from '../../src/client/index.js';
import { eventually } from '../broker/redisHarness.js';
import type { SeenFeed } from '../fixtures/sseClient.js';
import { expectHttpCallsChecked, sseClient, watchFeed } from '../fixtures/sseClient.js';
import type { SseRouter, SseServer } from '../fixtures/sseServer.js';
import { authenticate, issueToken, startSseServer } from '../fixtures/sseServer.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(extra: Parameters<typeof startSseServer>[0] = {}): Promise<SseServer> {
  const server = await startSseServer(extra);
  cleanups.push(() => server.close());
  return server;
}

function watch(client: ReturnType<typeof sseClient>): SeenFeed {
  const seen = watchFeed(client);
  cleanups.push(() => seen.unsubscribe());
  return seen;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes an event every 20 ms for `ms`; resolves with their numbers. */
async function publishFor(server: SseServer, ms: number): Promise<number[]> {
  const published: number[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    published.push(server.publish());
    await sleep(20);
  }
  return published;
}

describe('SSE streams under createHttpAuth', () => {
  it('ends each stream typed before its session expires; the retryLink recipe reopens it with fresh credentials: every event once, never a token in a URL', async () => {
    const server = await serve({ refreshAheadMs: 300 });
    let issued = 0;
    const client = sseClient(server.url, () => (issued++, issueToken('alice', 1_000)));
    const seen = watch(client);
    await eventually(() => server.running() === 1, 'the stream runs');
    const published = await publishFor(server, 4_000);
    await eventually(() => seen.events.length === published.length, 'every event');
    await sleep(100);
    expect(seen.events).toEqual(published);
    expect(seen.errors).toEqual([]);
    // A fresh token per stream, each stream ended before its token expired (1 s tokens, 0.3 s ahead at most half).
    expect(server.starts.length).toBeGreaterThanOrEqual(5);
    expect(issued).toBe(server.starts.length);
    expect(server.starts.slice(1).every((start) => start.lastEventId !== undefined && start.lastEventId !== null)).toBe(true);
    for (const { url } of server.requests) expect(url).not.toMatch(/alice\.\d/);
    expect(server.requests.every((request) => request.authorization?.startsWith('Bearer alice.'))).toBe(true);
  });

  it('ends a stream whose credentials cannot be refreshed with session-expired, and stock httpSubscriptionLink does not reopen it', async () => {
    const server = await serve({ refreshAheadMs: 200 });
    const token = issueToken('alice', 800);
    const client = sseClient(server.url, () => token, false);
    const seen = watch(client);
    await eventually(() => seen.errors.length === 1, 'the stream ends', 3_000);
    const [error] = seen.errors;
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(streamEndReason(error)).toBe(StreamEndReason.SessionExpired);
    expect((error as TRPCClientError<SseRouter>).data?.code).toBe('UNAUTHORIZED');
    await sleep(3_500); // EventSource's own reconnection delay, and more
    expect(server.starts).toHaveLength(1);
    // tRPC aborts a procedure's signal only when the client leaves mid-stream: a source awaiting its
    // next event is released (its iterator was returned) when that event comes.
    server.publish();
    await eventually(() => server.running() === 0, 'the source released');
    expect(seen.events).toEqual([]);
  });

  // An open refused for credentials already expired is `credentials-expired`, which the recipe does
  // not retry: before, it was `session-expired` and a client whose credentials never change
  // reopened hundreds of times a second (found by the browser test's author).
  it('with the recipe, credentials that never change end the stream typed after a few opens, not in a storm of reopens', async () => {
    const server = await serve({ refreshAheadMs: 200 });
    const token = issueToken('alice', 800);
    const seen = watch(sseClient(server.url, () => token));
    await sleep(2_000);
    seen.unsubscribe();
    expect(server.requests.length).toBeLessThanOrEqual(3);
    expect(seen.errors).toHaveLength(1);
    expect(streamEndReason(seen.errors[0])).toBe(StreamEndReason.CredentialsExpired);
  });

  it('revoke ends the stream with revoked (FORBIDDEN) and the recipe does not reopen it; other users stream on', async () => {
    const server = await serve();
    const alice = watch(sseClient(server.url, () => issueToken('alice', 60_000)));
    const bob = watch(sseClient(server.url, () => issueToken('bob', 60_000)));
    await eventually(() => server.running() === 2, 'both streams run');
    expect(server.auth.revoke((session) => session.user === 'alice', { reason: 'password changed' })).toBe(1);
    await eventually(() => alice.errors.length === 1, 'alice ends');
    expect(streamEndReason(alice.errors[0])).toBe(StreamEndReason.Revoked);
    expect((alice.errors[0] as TRPCClientError<SseRouter>).message).toContain('password changed');
    expect((alice.errors[0] as TRPCClientError<SseRouter>).data?.code).toBe('FORBIDDEN');
    server.publish();
    await eventually(() => bob.events.length === 1, 'bob streams on');
    await sleep(300);
    expect(server.starts.filter((start) => start.user === 'alice')).toHaveLength(1);
    expect(bob.errors).toEqual([]);
  });

  it('requestReauthentication ends the stream typed; the recipe reopens it at once with fresh credentials from the last event', async () => {
    const server = await serve();
    let n = 0;
    const client = sseClient(server.url, () => issueToken(`alice`, 60_000 + ++n));
    const seen = watch(client);
    await eventually(() => server.running() === 1, 'the stream runs');
    server.publish();
    await eventually(() => seen.events.length === 1, 'the first event');
    expect(server.auth.requestReauthentication((session) => session.user === 'alice')).toBe(1);
    server.publish();
    await eventually(() => server.starts.length === 2 && server.running() === 1, 'reopened');
    server.publish();
    await eventually(() => seen.events.length === 3, 'every event');
    expect(seen.events).toEqual([1, 2, 3]);
    expect(seen.errors).toEqual([]);
    expect(new Set(client.tokensSent).size).toBe(2);
    expect(server.starts[1]?.lastEventId).toBe('1');
  });

  it('refuses HTTP calls with expired or missing credentials (401, credentials-expired) and answers valid ones', async () => {
    const server = await serve();
    await expectHttpCallsChecked(server.url);
  });
});

describe('SSE streams and the WebSocket handler: one registry of live sessions', () => {
  async function serveBoth() {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const sse = await startSseServer({});
    const handler = applyWSSHandler({
      wss,
      router: sse.router,
      authenticate,
      createContext: ({ session }) => ({ session: session! }),
      sessionKeys: (session) => [`user:${session.user}`],
    });
    // The SSE server joins the handler's registry.
    const joined = await startSseServer({ handler });
    cleanups.push(
      () => joined.close(),
      () => sse.close(),
      () => handler.close(),
      () => new Promise<void>((resolve) => wss.close(() => resolve())),
    );
    return { handler, server: joined };
  }

  it("the handler's revoke(filter) ends SSE streams too, typed revoked", async () => {
    const { handler, server } = await serveBoth();
    const alice = watch(sseClient(server.url, () => issueToken('alice', 60_000)));
    const bob = watch(sseClient(server.url, () => issueToken('bob', 60_000)));
    await eventually(() => server.running() === 2, 'both stream');
    expect(handler.revoke((session) => session.user === 'alice', { reason: 'left the company' })).toBe(1);
    await eventually(() => alice.errors.length === 1, 'alice ends');
    expect(streamEndReason(alice.errors[0])).toBe(StreamEndReason.Revoked);
    expect(bob.errors).toEqual([]);
  });

  it("the handler's revoke by key ends the stream and its record refuses the same credentials afterwards (403, revoked)", async () => {
    const { handler, server } = await serveBoth();
    const token = issueToken('alice', 60_000);
    const alice = watch(sseClient(server.url, () => token));
    await eventually(() => server.running() === 1, 'alice streams');
    await sleep(5); // a revocation ends sessions issued before it
    const result = await handler.revoke({ key: 'user:alice' }, { reason: 'password changed', forMs: 60_000 });
    expect(result.affected).toBe(1);
    await eventually(() => alice.errors.length === 1, 'alice ends');
    const again = await createTRPCClient<SseRouter>({ links: [httpLink({ url: server.url, headers: { authorization: `Bearer ${token}` } })] })
      .me.query()
      .catch((error: unknown) => error);
    expect(streamEndReason(again)).toBe(StreamEndReason.Revoked);
    expect((again as TRPCClientError<SseRouter>).data?.httpStatus).toBe(403);
    expect(await createTRPCClient<SseRouter>({ links: [httpLink({ url: server.url, headers: { authorization: `Bearer ${issueToken('alice', 60_000)}` } })] }).me.query()).toBe('alice');
  });

  it("the handler's requestReauthentication and endSubscriptions reach SSE streams, typed", async () => {
    const { handler, server } = await serveBoth();
    const reopened = watch(sseClient(server.url, () => issueToken('alice', 60_000)));
    const ended = watch(sseClient(server.url, () => issueToken('bob', 60_000)));
    await eventually(() => server.running() === 2, 'both stream');
    expect(handler.requestReauthentication((session) => session.user === 'alice')).toBe(1);
    await eventually(() => server.starts.filter((start) => start.user === 'alice').length === 2, 'alice reopens with fresh credentials');
    expect(reopened.errors).toEqual([]);
    expect(handler.endSubscriptions(({ session, path }) => session?.user === 'bob' && path === 'feed', { code: 'NOT_FOUND', reason: 'feed closed' })).toBe(1);
    await eventually(() => ended.errors.length === 1, 'bob ends');
    expect(isSubscriptionEndedError(ended.errors[0])).toBe(true);
    expect((ended.errors[0] as TRPCClientError<SseRouter>).data?.code).toBe('NOT_FOUND');
  });
});

describe('our token source driving stock HTTP links', () => {
  /** A token source over the fixture's tokens (`user.issuedAt.expiresAt`), counting fetches. */
  function tokenSource(lifetimeMs: number) {
    const fetched: string[] = [];
    const tokens = createTokenSource({
      fetchToken: async () => {
        const token = issueToken('alice', lifetimeMs);
        fetched.push(token);
        return token;
      },
      expiresAtMs: (token) => Number(token.split('.')[2]),
      expiryMarginMs: 100,
    });
    return { tokens, fetched };
  }

  it('puts the token in a header of every SSE request and refreshes it before each reopened stream: every event once, never a stale token', async () => {
    const server = await serve({ refreshAheadMs: 300 });
    const { tokens, fetched } = tokenSource(1_000);
    const trpc = createTRPCClient<SseRouter>({
      links: [
        retryLink(freshCredentialsRetry(tokens)),
        httpSubscriptionLink<SseRouter, typeof EventSource>({ url: server.url, EventSource, eventSourceOptions: bearerEventSourceOptions(tokens) }),
      ],
    });
    const seen = { events: [] as number[], errors: [] as unknown[] };
    const subscription = trpc.feed.subscribe({}, { onData: (e) => void seen.events.push(e.data), onError: (e) => void seen.errors.push(e) });
    cleanups.push(() => subscription.unsubscribe());
    await eventually(() => server.running() === 1, 'the stream runs');
    const published = await publishFor(server, 4_000);
    await eventually(() => seen.events.length === published.length, 'every event');
    expect(seen.events).toEqual(published);
    expect(seen.errors).toEqual([]);
    expect(server.starts.length).toBeGreaterThanOrEqual(5);
    // Each stream opened with a token fetched for it: the stream before it had ended for that token's predecessor.
    const sent = server.requests.map((request) => request.authorization?.slice('Bearer '.length));
    expect(new Set(sent).size).toBe(server.requests.length);
    expect(sent.every((token) => token !== undefined && fetched.includes(token))).toBe(true);
    for (const { url } of server.requests) expect(url).not.toMatch(/alice\.\d/);
  });

  /** A subscription through the recipe with `tokens`, its errors collected. */
  function subscribeWith(server: SseServer, tokens: ReturnType<typeof createTokenSource>) {
    const trpc = createTRPCClient<SseRouter>({
      links: [
        retryLink(freshCredentialsRetry(tokens)),
        httpSubscriptionLink<SseRouter, typeof EventSource>({ url: server.url, EventSource, eventSourceOptions: bearerEventSourceOptions(tokens) }),
      ],
    });
    const errors: unknown[] = [];
    const subscription = trpc.feed.subscribe({}, { onError: (e) => void errors.push(e) });
    cleanups.push(() => subscription.unsubscribe());
    return errors;
  }

  it('opens again once after a refresh when the credentials held had expired: a stale cached token costs one refused open', async () => {
    const server = await serve();
    let first = true;
    const tokens = createTokenSource({
      // The first token handed out has already expired, and the source cannot tell (no expiry known).
      fetchToken: async () => (first ? ((first = false), issueToken('alice', -1)) : issueToken('alice', 60_000)),
      expiresAtMs: () => null,
    });
    const errors = subscribeWith(server, tokens);
    await eventually(() => server.running() === 1, 'the stream runs with the refreshed token');
    expect(server.requests).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('stops, typed, when the refresh keeps giving expired credentials: two refused opens, not a loop', async () => {
    const server = await serve();
    const tokens = createTokenSource({ fetchToken: async () => issueToken('alice', -1), expiresAtMs: () => null });
    const errors = subscribeWith(server, tokens);
    await eventually(() => errors.length === 1, 'the subscription fails');
    await sleep(500);
    expect(server.requests).toHaveLength(2);
    expect(streamEndReason(errors[0])).toBe(StreamEndReason.CredentialsExpired);
  });

  it('retries a call refused for an expired session once, with a refreshed token', async () => {
    const server = await serve();
    const { tokens, fetched } = tokenSource(60_000);
    let first = true;
    const trpc = createTRPCClient<SseRouter>({
      links: [
        retryLink(freshCredentialsRetry(tokens)),
        httpLink({
          url: server.url,
          headers: async () => {
            // The first request presents a token the server's clock says has expired.
            if (first) return (first = false), { authorization: `Bearer ${issueToken('alice', -1)}` };
            return { authorization: `Bearer ${await tokens.get()}` };
          },
        }),
      ],
    });
    expect(await trpc.me.query()).toBe('alice');
    expect(server.requests).toHaveLength(2);
    expect(fetched).toHaveLength(1);
  });
});
