/**
 * The auth invariant, as a property over random timings: no procedure ever executes with a
 * missing, refused or expired session. Time is the subject here, so the clock is fake (Date and
 * timers) while the sockets are real: a scenario is a random mix of calls, in-band
 * re-authentications (valid, refused, forbidden, already expired) and jumps of the clock.
 *
 * The second property adds the races of the session's life: `authenticate` and `createContext`
 * that stay in flight across steps, `revalidate` verdicts that change as it runs, `revoke()` and
 * `requestReauthentication()` at any point, events published around expiries, and a busy loop
 * (the clock moves, no timer fires). It checks deliveries too, not only executions, against the
 * session the connection holds at that moment, and that a refresh is asked at most once per expiry.
 */
import fc from 'fast-check';
import { afterEach, expect, it, vi } from 'vitest';
import type { AuthenticateOptions } from '../../src/server/index.js';
import type { TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { defaultSameAuthorization } from '../../src/server/auth/sameAuthorization.js';
import { settle, useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();
afterEach(() => {
  vi.useRealTimers();
});


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

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * Run first, whatever the seed: a 400 ms session with calls after the clock moved, inside its
 * life (three) and after it (refused), so the coverage guard below holds on every seed.
 */
const timeMovedScenario: Scenario = {
  first: 'alice:admin:400',
  refreshAheadMs: 0,
  expiryGraceMs: 0,
  authTimeoutMs: 500,
  steps: [
    { kind: 'call', path: 'me' },
    { kind: 'advance', ms: 100 },
    { kind: 'call', path: 'me' },
    { kind: 'call', path: 'ping' },
    { kind: 'advance', ms: 100 },
    { kind: 'call', path: 'ping' },
    { kind: 'advance', ms: 300 },
    { kind: 'call', path: 'me' },
  ],
};

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
        raw.server.sockets.onOpen((socket) => socket.onMessage(() => framesRead++));
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
    { numRuns: 60, examples: [[timeMovedScenario]] },
  );
  // Not vacuous: procedures did run, also after the clock moved (where expiry matters).
  expect(executed).toBeGreaterThan(20);
  expect(executedAfterTimeMoved).toBeGreaterThanOrEqual(3);
});

/** What `revalidate` answers, switched by the scenario as it runs. */
type Verdict = 'keep' | 'copy' | 'promote' | 'revoke' | 'expire' | 'extend';

/** Several principals, so that revocations and grant changes have something to tell apart. */
const raceTokenArb = fc.oneof(
  {
    arbitrary: fc
      .tuple(fc.constantFrom('alice', 'bob'), fc.constantFrom('admin', 'member'), fc.integer({ min: 20, max: 1_500 }))
      .map(([user, role, ttl]) => `${user}:${role}:${ttl}`),
    weight: 8,
  },
  { arbitrary: fc.constantFrom('alice:admin', 'bob:member'), weight: 1 },
  { arbitrary: fc.constantFrom('bad', 'banned:member', 'alice:admin:-1'), weight: 1 },
);

const raceStepArb = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('call' as const), path: fc.constantFrom('me', 'ping') }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 200 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('reauth' as const), token: raceTokenArb, fresh: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('publish' as const) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('revoke' as const), user: fc.constantFrom('alice', 'bob') }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('verdict' as const), verdict: fc.constantFrom<Verdict>('keep', 'keep', 'copy', 'copy', 'extend', 'promote', 'revoke', 'expire') }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('request' as const) }), weight: 1 },
  /** The clock moves but no timer fires: a busy event loop. */
  { arbitrary: fc.record({ kind: fc.constant('busy' as const), ms: fc.integer({ min: 0, max: 200 }) }), weight: 1 },
);

const raceScenarioArb = fc.record({
  first: raceTokenArb,
  refreshAheadMs: fc.integer({ min: 0, max: 100 }),
  expiryGraceMs: fc.integer({ min: 0, max: 200 }),
  authTimeoutMs: fc.integer({ min: 100, max: 500 }),
  revalidateIntervalMs: fc.integer({ min: 10, max: 150 }),
  /** Delays of `authenticate` and `createContext` (fake ms), so session changes stay in flight across steps. */
  authDelayMs: fc.constantFrom(0, 0, 15, 60),
  contextDelayMs: fc.constantFrom(0, 0, 25, 80),
  /** Let the connect-time authentication finish before the steps (else it races them too). */
  warmUp: fc.boolean(),
  steps: fc.array(raceStepArb, { minLength: 4, maxLength: 18 }),
});

it('never runs or delivers under a missing, refused, expired or revoked session, whatever races the session changes', async () => {
  let executed = 0;
  let delivered = 0;
  await fc.assert(
    fc.asyncProperty(raceScenarioArb, async (scenario) => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: 1_700_000_000_000 });
      try {
        const fixture = createAuthFixture();
        const delay = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());
        let step = 0;
        /** Every session a hook produced, with the step its making began at. */
        const made = new WeakMap<TestSession, number>();
        const revocations: Array<{ step: number; user: string }> = [];
        let verdict: Verdict = 'keep';
        const produce = (session: TestSession, startedAt: number) => {
          made.set(session, startedAt);
          return session;
        };
        /**
         * The session the connection holds, for the oracle. The server consults `sameAuthorization`
         * right before it installs a session that replaces another (after its `createContext`), and
         * announces a connect-time one (`lanyard.session`) right after installing it.
         */
        let current: TestSession | null = null;
        let lastContext: TestSession | null = null;
        const contexted = new WeakSet<TestSession>();
        const server = await raw.start<typeof fixture.router, TestSession>({
          router: fixture.router,
          authenticate: async (opts) => {
            const startedAt = step;
            await delay(scenario.authDelayMs);
            return produce(fixture.authenticate(opts), startedAt);
          },
          createContext: async ({ session }) => {
            await delay(scenario.contextDelayMs);
            if (session) contexted.add(session);
            lastContext = session;
            return fixture.createContext({ session });
          },
          sameAuthorization: (previous, next) => {
            if (contexted.has(next)) current = next;
            return defaultSameAuthorization(previous, next);
          },
          revalidate: (session) => {
            const startedAt = step;
            switch (verdict) {
              case 'keep':
                return session;
              case 'revoke':
                return null;
              case 'copy':
                return produce({ ...session }, startedAt);
              case 'promote':
                return produce({ ...session, role: 'admin' }, startedAt);
              case 'expire':
                return produce({ ...session, expiresAt: Date.now() - 1 }, startedAt);
              case 'extend':
                return produce({ ...session, expiresAt: (session.expiresAt ?? Date.now()) + 100 }, startedAt);
            }
          },
          refreshAheadMs: scenario.refreshAheadMs,
          expiryGraceMs: scenario.expiryGraceMs,
          authTimeoutMs: scenario.authTimeoutMs,
          revalidateIntervalMs: scenario.revalidateIntervalMs,
          onError: () => undefined,
        });
        const handler = server.handler!;
        const deliveries: Array<{ atMs: number; step: number; session: TestSession | null }> = [];
        const refreshedFor: Array<number | null> = [];
        let framesRead = 0;
        server.sockets.onOpen((socket) => {
          socket.onMessage(() => framesRead++);
          socket.onSend((text) => {
            const frame = (text.startsWith('{') ? JSON.parse(text) : {}) as {
              id?: unknown;
              method?: string;
              result?: { type: string };
              params?: { reason: string; expiresAt: number | null };
            };
            if (frame.method === 'lanyard.session' && current === null) current = lastContext;
            if (frame.method === 'lanyard.refresh' && frame.params?.reason === 'expiring') refreshedFor.push(frame.params.expiresAt);
            if (frame.id === 'sub' && frame.result?.type === 'data') deliveries.push({ atMs: Date.now(), step, session: current });
          });
        });
        const client = await raw.connect('?connectionParams=1&lanyard=1');
        let framesSent = 0;
        const sendFrame = (frame: unknown) => {
          framesSent++;
          client.send(frame);
        };
        const deliveredAll = () => framesRead >= framesSent || client.ws.readyState !== client.ws.OPEN;
        sendFrame({ method: 'connectionParams', data: { token: scenario.first } });
        sendFrame({ id: 'sub', method: 'subscription', params: { path: 'publicRoom' } });
        /** The step each execution happened in (steps act first, then settle). */
        const executionSteps: number[] = [];
        const tagExecutions = () => {
          while (executionSteps.length < fixture.executions.length) executionSteps.push(step);
        };
        await settle(deliveredAll);
        if (scenario.warmUp) {
          await vi.advanceTimersByTimeAsync(scenario.authDelayMs + scenario.contextDelayMs);
          await settle(deliveredAll);
        }
        tagExecutions();
        let id = 0;
        for (const next of scenario.steps) {
          step++;
          switch (next.kind) {
            case 'call':
              sendFrame({ id: ++id, method: 'query', params: { path: next.path } });
              break;
            case 'reauth': {
              // `fresh`: fetched after the newest refresh request seen (it answers it); else one begun before.
              const seqs = client.received.filter((f) => (f as { method?: string }).method === 'lanyard.refresh').map((f) => (f as { params: { seq: number } }).params.seq);
              const answers = next.fresh ? Math.max(0, ...seqs) : undefined;
              sendFrame({ id: `auth${++id}`, method: 'lanyard.authenticate', params: { connectionParams: { token: next.token }, answers } });
              break;
            }
            case 'advance':
              await vi.advanceTimersByTimeAsync(next.ms);
              break;
            case 'publish':
              fixture.publish('public');
              break;
            case 'revoke':
              revocations.push({ step, user: next.user });
              handler.revoke((session) => session.user === next.user);
              break;
            case 'verdict':
              verdict = next.verdict;
              break;
            case 'request':
              handler.requestReauthentication(() => true);
              break;
            case 'busy':
              vi.setSystemTime(Date.now() + next.ms);
              break;
          }
          await settle(deliveredAll);
          tagExecutions();
        }
        const check = (what: string, atMs: number, atStep: number, session: TestSession | null) => {
          expect(session, `${what} without a session`).not.toBeNull();
          const startedAt = made.get(session!);
          expect(startedAt, `${what} under a session no hook made`).toBeDefined();
          if (typeof session!.expiresAt === 'number') expect(atMs, `${what} after its session expired`).toBeLessThan(session!.expiresAt);
          for (const revocation of revocations) {
            const revoked = revocation.user === session!.user && startedAt! < revocation.step && atStep >= revocation.step;
            expect(revoked, `${what} under a session revoked at step ${revocation.step}`).toBe(false);
          }
        };
        fixture.executions.forEach((execution, index) => check(`${execution.path} ran`, execution.atMs, executionSteps[index]!, execution.session));
        for (const delivery of deliveries) check('an event was delivered', delivery.atMs, delivery.step, delivery.session);
        expect(new Set(refreshedFor).size, 'asked twice for a refresh of the same expiry').toBe(refreshedFor.length);
        executed += fixture.executions.length;
        delivered += deliveries.length;
        client.close();
        await raw.server.close();
      } finally {
        vi.useRealTimers();
      }
    }),
    { numRuns: 150 },
  );
  // Not vacuous: procedures ran and events went out.
  expect(executed).toBeGreaterThan(100);
  expect(delivered).toBeGreaterThan(50);
});
