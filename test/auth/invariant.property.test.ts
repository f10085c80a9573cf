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

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Lets real socket I/O flow while the fake clock stands still: until the server has read every
 * frame sent so far, then a few more turns for what those frames set off.
 */
async function settle(delivered: () => boolean): Promise<void> {
  for (let i = 0; i < 5_000 && !delivered(); i++) await turn();
  for (let i = 0; i < 10; i++) await turn();
}

/** Mostly valid tokens (so procedures run and expire), often refused ones. */
const tokenArb = fc.oneof(
  { arbitrary: fc.integer({ min: 20, max: 400 }).map((ttl) => `alice:admin:${ttl}`), weight: 5 },
  { arbitrary: fc.constant('alice:admin'), weight: 1 },
  { arbitrary: fc.constant('bob:member:-1'), weight: 1 },
  { arbitrary: fc.constant('bad'), weight: 1 },
  { arbitrary: fc.constant('banned:member'), weight: 1 },
);

const stepArb = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('call' as const), path: fc.constantFrom('me', 'ping') }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 300 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('reauth' as const), token: tokenArb }), weight: 1 },
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
        let framesRead = 0;
        raw.server.wss.on('connection', (ws) => ws.on('message', () => framesRead++));
        const client = await raw.connect('?connectionParams=1&lanyard=1');
        let framesSent = 0;
        const send = (frame: unknown) => {
          framesSent++;
          client.send(frame);
        };
        const delivered = () => framesRead >= framesSent || client.ws.readyState !== client.ws.OPEN;
        send({ method: 'connectionParams', data: { token: scenario.first } });
        let id = 0;
        for (const step of scenario.steps) {
          if (step.kind === 'call') send({ id: ++id, method: 'query', params: { path: step.path } });
          else if (step.kind === 'reauth') send({ id: ++id, method: 'lanyard.authenticate', params: { connectionParams: { token: step.token } } });
          else vi.advanceTimersByTime(step.ms);
          await settle(delivered);
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
