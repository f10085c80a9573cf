import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests and examples import `trpc-lanyard/...` as users do; this condition maps it to src/.
// Tests run in Vite's server (SSR) environment, which reads `ssr.resolve.conditions`, not
// `resolve.conditions`: without it `trpc-lanyard/...` resolved to dist/ (or failed without a build).
const source = '@trpc-lanyard/source';

/**
 * The behaviour suite: what our handler does on the wire (protocol, stock clients, the auth
 * lifecycle, limits, close codes, resume), whatever serves it. It runs once per transport:
 * `ws` (with every other test), then `fastify` and `uws`, whose fixtures start our handler with
 * the Fastify plugin and on uWebSockets.js (`LANYARD_TRANSPORT`, test/fixtures/transports.ts).
 * Tests of one adapter's own machinery (ws's receiver limits and merged TCP writes, the
 * scripted servers of the client tests) run once, in `ws`.
 */
const behaviourSuite = [
  'test/compat/*.test.ts',
  'test/auth/*.test.ts',
  'test/broker/e2e.test.ts',
  'test/server/{lifecycle,limits,malformedFrames,encoder,sharedJson,endSubscriptions,grants}.test.ts',
  'test/client/{wsClient,reauthenticate,reconnect,connection,outbox,payloadLimit,observedCall,grants.e2e,grantsMinute}.test.ts',
];

/**
 * Left out on uWS: the invariant property test moves a fake clock and timestamps each event when
 * the adapter hands it to the transport's own `send`. The uWS adapter does that at the end of the
 * turn (its merged, corked write), after the fake clock may have moved on, so an event the core
 * sent before its session expired can be seen "after" it (1 run in 4–8; timestamped when the core
 * sent them, 12 of 12 passed). The invariant is the core's; ws and Fastify run it.
 */
const notOnUWS = ['test/auth/invariant.property.test.ts'];

const transportProject = (transport: 'fastify' | 'uws') => ({
  extends: true as const,
  test: {
    name: transport,
    include: behaviourSuite,
    exclude: transport === 'uws' ? notOnUWS : [],
    env: { LANYARD_TRANSPORT: transport },
  },
});

export default defineConfig({
  resolve: {
    conditions: [source],
  },
  ssr: {
    resolve: { conditions: [source, ...defaultServerConditions] },
  },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'ws', include: ['test/**/*.test.ts'] } },
      transportProject('fastify'),
      transportProject('uws'),
    ],
  },
});
