/**
 * The auth invariant, as a property over random timings: no procedure ever executes with a
 * missing, refused or expired session. Time is the subject here, so the clock is fake (Date and
 * timers) while the sockets are real: a scenario is a random mix of calls, in-band
 * re-authentications (valid, refused, forbidden, already expired) and jumps of the clock.
 */
import fc from 'fast-check';
import { afterEach, expect, it, vi } from 'vitest';
import type { AuthenticateOptions } from '../../src/server/index.js';
import type { TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();
afterEach(() => {
  vi.useRealTimers();
});

/** Lets real socket I/O flow while the fake clock stands still. */
async function settle(rounds = 12): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

const tokenArb = fc.oneof(
  fc.integer({ min: 20, max: 400 }).map((ttl) => `alice:admin:${ttl}`),
  fc.constant('alice:admin'),
  fc.constant('bob:member:-1'),
  fc.constant('bad'),
  fc.constant('banned:member'),
);

const stepArb = fc.oneof(
  fc.record({ kind: fc.constant('call' as const), path: fc.constantFrom('me', 'ping') }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 300 }) }),
  fc.record({ kind: fc.constant('reauth' as const), token: tokenArb }),
);

const scenarioArb = fc.record({
  first: tokenArb,
  refreshAheadMs: fc.integer({ min: 0, max: 100 }),
  expiryGraceMs: fc.integer({ min: 0, max: 200 }),
  authTimeoutMs: fc.integer({ min: 50, max: 500 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 14 }),
});

it('never runs a procedure without a valid, accepted, unexpired session', async () => {
  let executed = 0;
  let executedAfterTimeMoved = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (scenario) => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: 1_700_000_000_000 });
      try {
        const fixture = createAuthFixture();
        const accepted = new WeakSet<TestSession>();
        const authenticate = (opts: AuthenticateOptions<TestSession, unknown>) => {
          const session = fixture.authenticate(opts);
          accepted.add(session);
          return session;
        };
        await raw.start<typeof fixture.router, TestSession>({
          router: fixture.router,
          authenticate,
          createContext: fixture.createContext,
          refreshAheadMs: scenario.refreshAheadMs,
          expiryGraceMs: scenario.expiryGraceMs,
          authTimeoutMs: scenario.authTimeoutMs,
          onError: () => undefined,
        });
        const client = await raw.connect('?connectionParams=1&lanyard=1');
        client.send({ method: 'connectionParams', data: { token: scenario.first } });
        let id = 0;
        for (const step of scenario.steps) {
          if (step.kind === 'call') client.send({ id: ++id, method: 'query', params: { path: step.path } });
          else if (step.kind === 'reauth') client.send({ id: ++id, method: 'lanyard.authenticate', params: { connectionParams: { token: step.token } } });
          else vi.advanceTimersByTime(step.ms);
          await settle();
        }
        executed += fixture.executions.length;
        executedAfterTimeMoved += fixture.executions.filter((e) => e.atMs > 1_700_000_000_000).length;
        for (const execution of fixture.executions) {
          const { session } = execution;
          expect(session, `${execution.path} ran without a session`).not.toBeNull();
          expect(accepted.has(session!), `${execution.path} ran with a session authenticate did not accept`).toBe(true);
          if (typeof session!.expiresAt === 'number') {
            expect(execution.atMs, `${execution.path} ran after its session expired`).toBeLessThan(session!.expiresAt);
          }
        }
        client.close();
        await raw.server.close();
      } finally {
        vi.useRealTimers();
      }
    }),
    { numRuns: 60 },
  );
  // Not vacuous: procedures did run, also after the clock moved (where expiry matters).
  expect(executed).toBeGreaterThan(20);
  expect(executedAfterTimeMoved).toBeGreaterThan(5);
});
