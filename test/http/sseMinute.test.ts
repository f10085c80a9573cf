/**
 * A minute of SSE streaming (issue 13) with stock `httpSubscriptionLink` in Node: the `eventsource`
 * package as EventSource, 5 s tokens in an `Authorization` header from its `fetch` hook, and the
 * retryLink recipe, against tRPC's standalone server with `createHttpAuth`. Events every 100 ms.
 * It takes a minute of real time on purpose: the streams end on the server's clock.
 */
import { afterEach, expect, it } from 'vitest';
import { eventually } from '../broker/redisHarness.js';
import { sseClient, watchFeed } from '../fixtures/sseClient.js';
import { issueToken, startSseServer } from '../fixtures/sseServer.js';

const TOKEN_LIFETIME_MS = 5_000;
const REFRESH_AHEAD_MS = 1_000;
const STREAMING_MS = 60_000;
const PUBLISH_EVERY_MS = 100;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it(
  'streams a minute on 5 s tokens: every event exactly once, the token never in a URL, each stream reopened with fresh credentials before its token expires',
  async () => {
    const server = await startSseServer({ refreshAheadMs: REFRESH_AHEAD_MS });
    cleanups.push(() => server.close());
    const client = sseClient(server.url, () => issueToken('alice', TOKEN_LIFETIME_MS));
    const seen = watchFeed(client);
    cleanups.push(() => seen.unsubscribe());
    await eventually(() => server.running() === 1, 'the stream runs');

    const published: number[] = [];
    const until = Date.now() + STREAMING_MS;
    while (Date.now() < until) {
      published.push(server.publish());
      await sleep(PUBLISH_EVERY_MS);
    }
    await eventually(() => seen.events.length >= published.length, 'every event');
    await sleep(200);

    // Every event exactly once, in order, and nothing failed the subscription.
    expect(seen.events).toEqual(published);
    expect(seen.errors).toEqual([]);

    // One fresh token per stream; streams of ~4 s (ended 1 s ahead of a 5 s token).
    const { starts } = server;
    expect(starts.length).toBeGreaterThanOrEqual(STREAMING_MS / (TOKEN_LIFETIME_MS - REFRESH_AHEAD_MS) - 1);
    expect(new Set(client.tokensSent).size).toBe(starts.length);
    for (const [i, start] of starts.entries()) {
      // Presented fresh: issued just before the stream opened.
      expect(start.startedAt - start.session.issuedAt).toBeLessThan(1_000);
      if (i === 0) continue;
      const previous = starts[i - 1]!;
      expect(start.lastEventId).toMatch(/^\d+$/);
      // Reopened once the previous stream ended at its refresh point (not earlier), before that
      // stream's token expired.
      expect(start.startedAt).toBeGreaterThanOrEqual(previous.session.expiresAt - REFRESH_AHEAD_MS - 5);
      expect(start.startedAt).toBeLessThan(previous.session.expiresAt);
    }

    // The token only ever in the Authorization header.
    expect(server.requests).toHaveLength(starts.length);
    for (const request of server.requests) {
      expect(request.url).not.toMatch(/alice\.\d/);
      expect(request.authorization).toMatch(/^Bearer alice\.\d+\.\d+$/);
    }
  },
  STREAMING_MS + 30_000,
);
