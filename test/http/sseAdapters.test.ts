/**
 * `createHttpAuth` on tRPC's other HTTP adapters: the fetch adapter (`fetchRequestHandler`, whose
 * `createContext` gets a fetch `Request` with `Headers`) and Fastify (stock's `fastifyTRPCPlugin`
 * and ours, whose `createContext` gets a `FastifyRequest`). The scenario of the standalone server's
 * first test in sseAuth.test.ts: 1 s tokens in an `Authorization` header for ~4 s of streaming,
 * each stream ended typed before its token expires and reopened by the retryLink recipe with a
 * fresh token from the last event id; plus HTTP calls checked with the same rules.
 */
import type { TRPCClientError } from '@trpc/client';
import { afterEach, describe, expect, it } from 'vitest';
import { streamEndReason, StreamEndReason } from '../../src/protocol/index.js';
import { eventually } from '../broker/redisHarness.js';
import type { SseAdapter } from '../fixtures/sseAdapters.js';
import { expectHttpCallsChecked, sseClient, watchFeed } from '../fixtures/sseClient.js';
import type { SseRouter } from '../fixtures/sseServer.js';
import { issueToken, startSseServer } from '../fixtures/sseServer.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const adapters: SseAdapter[] = ['fetch', 'fastify', 'fastify-lanyard'];

describe.each(adapters)('createHttpAuth on the %s adapter', (adapter) => {
  async function serve(refreshAheadMs?: number) {
    const server = await startSseServer({ adapter, ...(refreshAheadMs === undefined ? {} : { refreshAheadMs }) });
    cleanups.push(() => server.close());
    return server;
  }

  it('ends each stream typed before its session expires; the retryLink recipe reopens it with fresh credentials: every event once, never a token in a URL', async () => {
    const server = await serve(300);
    let issued = 0;
    const client = sseClient(server.url, () => (issued++, issueToken('alice', 1_000)));
    const seen = watchFeed(client);
    cleanups.push(() => seen.unsubscribe());
    await eventually(() => server.running() === 1, 'the stream runs');
    const published: number[] = [];
    const until = Date.now() + 4_000;
    while (Date.now() < until) {
      published.push(server.publish());
      await sleep(20);
    }
    await eventually(() => seen.events.length === published.length, 'every event');
    await sleep(100);
    expect(seen.events).toEqual(published);
    expect(seen.errors).toEqual([]);
    expect(server.starts.length).toBeGreaterThanOrEqual(5);
    expect(issued).toBe(server.starts.length);
    expect(new Set(server.starts.map((start) => start.session.issuedAt)).size).toBe(server.starts.length);
    expect(server.starts.slice(1).every((start) => start.lastEventId !== undefined && start.lastEventId !== null)).toBe(true);
    // Each stream was reopened before its token expired.
    expect(server.starts.slice(1).every((start, i) => start.startedAt < server.starts[i]!.session.expiresAt)).toBe(true);
    for (const { url } of server.requests) expect(url).not.toMatch(/alice\.\d/);
    expect(server.requests.every((request) => request.authorization?.startsWith('Bearer alice.'))).toBe(true);
  });

  it('answers HTTP calls with valid credentials and refuses expired (401, credentials-expired) and missing ones (401)', async () => {
    const server = await serve();
    await expectHttpCallsChecked(server.url);
  });

  it('revoke ends the stream with revoked (FORBIDDEN) and the recipe does not reopen it', async () => {
    const server = await serve();
    const alice = watchFeed(sseClient(server.url, () => issueToken('alice', 60_000)));
    cleanups.push(() => alice.unsubscribe());
    await eventually(() => server.running() === 1, 'the stream runs');
    expect(server.auth.revoke((session) => session.user === 'alice', { reason: 'password changed' })).toBe(1);
    await eventually(() => alice.errors.length === 1, 'alice ends');
    expect(streamEndReason(alice.errors[0])).toBe(StreamEndReason.Revoked);
    expect((alice.errors[0] as TRPCClientError<SseRouter>).data?.code).toBe('FORBIDDEN');
    await sleep(300);
    expect(server.starts).toHaveLength(1);
  });
});
