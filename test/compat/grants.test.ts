/**
 * Grants with stock tRPC on either side. A stock `@trpc/client` puts the grant token in the input
 * (`grant`) and cannot be asked for a fresh one: on our server its subscription ends *before* the
 * grant expires with `grant-expired`, and the documented recipe (fetch a fresh token, subscribe
 * again with the last tracked event id) streams every event exactly once across many grants.
 * On a stock `applyWSSHandler` the `requireGrant` middleware ends the stream itself, the same way.
 */
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import type { TRPCClient, TRPCClientError } from '@trpc/client';
import { afterEach, describe, expect, it } from 'vitest';
import { grantErrorReason, GrantReason } from '../../src/protocol/index.js';
import { NodeWebSocket } from '../fixtures/clients.js';
import type { GrantRouter, GrantSession } from '../fixtures/grantRouter.js';
import { createGrantFixture } from '../fixtures/grantRouter.js';
import type { ServerKind } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * The recipe a stock client's app follows: subscribe with a fresh token in the input; on
 * `grant-expired`, fetch another and subscribe again from the last tracked event.
 */
function watchWithFreshGrants(trpc: TRPCClient<GrantRouter>, fetchToken: () => string) {
  const seen = { events: [] as number[], renewals: 0, endedAt: [] as number[], otherErrors: [] as unknown[] };
  let lastEventId: string | undefined;
  let current: { unsubscribe(): void } | null = null;
  const subscribe = () => {
    current = trpc.doc.subscribe(
      { docId: 'd1', grant: fetchToken(), ...(lastEventId === undefined ? {} : { lastEventId }) } as { docId: string },
      {
        onData: (event) => {
          lastEventId = event.id;
          seen.events.push(event.data.seq);
        },
        onError: (error: TRPCClientError<GrantRouter>) => {
          if (grantErrorReason(error) === GrantReason.Expired) {
            seen.endedAt.push(Date.now());
            seen.renewals++;
            subscribe();
          } else {
            seen.otherErrors.push(error);
          }
        },
      },
    );
  };
  subscribe();
  cleanups.push(() => current?.unsubscribe());
  return seen;
}

describe.each(['lanyard', 'stock'] as const)('a stock client with grants on a %s server', (serverKind: ServerKind) => {
  it('ends the subscription before each grant expires with grant-expired; subscribing again with a fresh token loses and doubles nothing', async () => {
    const fixture = createGrantFixture({ refreshAheadMs: 300 });
    const server = await startServer<GrantRouter, GrantSession>(serverKind, {
      router: fixture.router,
      createContext: () => ({ session: { user: 'alice' } }),
    });
    cleanups.push(() => server.close());
    const client = createWSClient({ url: server.url, WebSocket: NodeWebSocket });
    cleanups.push(() => client.close());
    const trpc = createTRPCClient<GrantRouter>({ links: [wsLink({ client })] });

    const issuedAt: Array<{ at: number; expiresAt: number }> = [];
    const seen = watchWithFreshGrants(trpc, () => {
      issuedAt.push({ at: Date.now(), expiresAt: Date.now() + 800 });
      return fixture.issue('d1', 'alice', 800);
    });
    await expect.poll(() => fixture.running('doc', 'd1'), { timeout: 3_000 }).toBe(1);
    const published: number[] = [];
    const until = Date.now() + 3_500;
    while (Date.now() < until) {
      published.push(fixture.publish('d1').seq);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await expect.poll(() => seen.events.length, { timeout: 3_000 }).toBe(published.length);
    expect(seen.events).toEqual(published);
    expect(seen.renewals).toBeGreaterThanOrEqual(3);
    expect(seen.otherErrors).toEqual([]);
    // Each subscription ended before the grant it ran under expired.
    seen.endedAt.forEach((endedAt, i) => expect(endedAt).toBeLessThan(issuedAt[i]!.expiresAt));
    // Every token came in the input, and verify never saw it there.
    expect(fixture.verifications.every((v) => v.ok && !JSON.stringify(v.input).includes('grant'))).toBe(true);
  });
});
