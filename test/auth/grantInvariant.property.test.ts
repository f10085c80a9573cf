/**
 * The grant invariant, as a property over random timings: no event of a grant subscription is
 * delivered under an expired or refused grant. Time is the subject, so the clock is fake (Date and
 * timers) while the sockets are real. A scenario is a random mix of published events, jumps of the
 * clock, a busy loop (the clock moves, no timer fires), and answers to the server's refresh requests:
 * a fresh grant, a refused one, one already expired, a failing document service, or none.
 *
 * Each event the server sends is stamped, on one counter with every `verify`, when the server hands
 * it to the socket. An event on the grant subscription must come after an accepted verification
 * whose grant had not expired at that moment, and after no refusal; a second subscription without
 * a grant on the same socket must keep every event.
 */
import fc from 'fast-check';
import { afterEach, expect, it, vi } from 'vitest';
import type { GrantSession } from '../fixtures/grantRouter.js';
import { createGrantFixture } from '../fixtures/grantRouter.js';
import { settle, useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();
afterEach(() => {
  vi.useRealTimers();
});


type Answer = 'fresh' | 'refused' | 'expired' | 'failing' | 'none';

const stepArb = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('publish' as const) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('busy' as const), ms: fc.integer({ min: 0, max: 300 }) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('answer' as const),
      answer: fc.constantFrom<Answer>('fresh', 'fresh', 'fresh', 'refused', 'expired', 'failing', 'none'),
      lifetimeMs: fc.integer({ min: 50, max: 1_500 }),
    }),
    weight: 3,
  },
);

const scenarioArb = fc.record({
  firstLifetimeMs: fc.integer({ min: 50, max: 600 }),
  refreshAheadMs: fc.integer({ min: 0, max: 400 }),
  graceMs: fc.integer({ min: 0, max: 400 }),
  steps: fc.array(stepArb, { minLength: 4, maxLength: 30 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * Always run first, so the renewal path is exercised whatever the random scenarios hold: the
 * server asks for a refresh 200 ms before the first grant's expiry, gets a fresh one, and events
 * published under the renewed grant must be delivered.
 */
const renewedGrantScenario: Scenario = {
  firstLifetimeMs: 600,
  refreshAheadMs: 200,
  graceMs: 200,
  steps: [
    { kind: 'publish' },
    { kind: 'advance', ms: 450 },
    { kind: 'answer', answer: 'fresh', lifetimeMs: 1_500 },
    { kind: 'publish' },
    { kind: 'advance', ms: 400 },
    { kind: 'publish' },
  ],
};

interface Sent {
  readonly order: number;
  readonly at: number;
  readonly frame: { id?: unknown; method?: string; params?: { seq?: number }; result?: { type?: string } };
}

it('never delivers an event of a grant subscription under an expired or refused grant; the subscription without one loses nothing', async () => {
  let deliveredUnderGrant = 0;
  let deliveredAfterRenewal = 0;
  let ended = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (scenario) => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: 1_700_000_000_000 });
      try {
        const fixture = createGrantFixture({ refreshAheadMs: scenario.refreshAheadMs, graceMs: scenario.graceMs });
        let order = 0;
        fixture.stamp.next = () => ++order;
        await raw.start<typeof fixture.router, GrantSession>({
          router: fixture.router,
          authenticate: fixture.authenticate,
          createContext: fixture.createContext,
          onError: () => undefined,
        });
        const sent: Sent[] = [];
        let framesRead = 0;
        raw.server.sockets.onOpen((socket) => {
          socket.onMessage(() => framesRead++);
          socket.onSend((text) => {
            if (text !== 'PING' && text !== 'PONG') sent.push({ order: ++order, at: Date.now(), frame: JSON.parse(text) as Sent['frame'] });
          });
        });
        const client = await raw.connect('?connectionParams=1&lanyard=1');
        let framesSent = 0;
        const send = (frame: unknown) => {
          framesSent++;
          client.send(frame);
        };
        const delivered = () => framesRead >= framesSent || client.ws.readyState !== client.ws.OPEN;
        send({ method: 'connectionParams', data: { token: 'alice' } });
        send({ id: 1, method: 'subscription', params: { path: 'doc', input: { docId: 'd1' }, grant: fixture.issue('d1', 'alice', scenario.firstLifetimeMs) } });
        send({ id: 2, method: 'subscription', params: { path: 'feed', input: { docId: 'd1' } } });
        await settle(delivered);
        let published = 0;
        let answerId = 100;
        for (const step of scenario.steps) {
          if (step.kind === 'publish') {
            fixture.publish('d1');
            published++;
          } else if (step.kind === 'advance') {
            vi.advanceTimersByTime(step.ms);
          } else if (step.kind === 'busy') {
            vi.setSystemTime(Date.now() + step.ms);
          } else {
            const refresh = [...sent].reverse().find((s) => s.frame.method === 'lanyard.grant.refresh');
            const seq = refresh?.frame.params?.seq;
            if (seq !== undefined && step.answer !== 'none') {
              if (step.answer === 'refused') fixture.withdraw('d1', 'alice');
              if (step.answer === 'failing') fixture.failNext(1);
              const token = fixture.issue('d1', 'alice', step.answer === 'expired' ? -1 : step.lifetimeMs);
              send({ id: ++answerId, method: 'lanyard.grant', params: { subscription: 1, token, answers: seq } });
            }
          }
          await settle(delivered);
        }

        const events = (id: number) => sent.filter((s) => s.frame.id === id && s.frame.result?.type === 'data');
        const grantEvents = events(1);
        for (const event of grantEvents) {
          const inForce = fixture.verificationLog.some((v) => v.ok && v.order < event.order && (v.expiresAt === null || event.at < v.expiresAt));
          expect(inForce, `event sent at ${event.at} (order ${event.order}) without an unexpired grant in force`).toBe(true);
          const refusedBefore = fixture.verificationLog.some((v) => v.refused && v.order < event.order);
          expect(refusedBefore, `event sent at order ${event.order} after a refusal`).toBe(false);
        }
        // Tracked events go out once each on the grant subscription, in order.
        const ids = grantEvents.map((e) => Number((e.frame.result as { id?: string }).id));
        expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
        // The subscription without a grant lost nothing, and the socket stayed open.
        expect(events(2)).toHaveLength(published);
        expect(client.ws.readyState).toBe(client.ws.OPEN);

        deliveredUnderGrant += grantEvents.length;
        const renewal = fixture.verificationLog.filter((v) => v.ok)[1]; // the first accepted fresh grant
        if (renewal) deliveredAfterRenewal += grantEvents.filter((e) => e.order > renewal.order).length;
        if (sent.some((s) => s.frame.id === 1 && s.frame.result?.type === 'stopped')) ended++;
        client.close();
        await raw.server.close();
      } finally {
        vi.useRealTimers();
      }
    }),
    { numRuns: 80, examples: [[renewedGrantScenario]] },
  );
  // Not vacuous: events were delivered under grants, also under renewed ones (at least the two the
  // fixed renewal scenario publishes after its refresh; how many the random scenarios add varies
  // from 11 to 53 over 40 seeds, so a higher bound here would be a coin toss), and some grants ran
  // out or were refused.
  expect(deliveredUnderGrant).toBeGreaterThan(50);
  expect(deliveredAfterRenewal).toBeGreaterThanOrEqual(2);
  expect(ended).toBeGreaterThan(10);
});
