import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests and examples import `trpc-lanyard/...` as users do; this condition maps it to src/.
// Tests run in Vite's server (SSR) environment, which reads `ssr.resolve.conditions`, not
// `resolve.conditions`: without it `trpc-lanyard/...` resolved to dist/ (or failed without a build).
const source = '@trpc-lanyard/source';

export default defineConfig({
  resolve: {
    conditions: [source],
  },
  ssr: {
    resolve: { conditions: [source, ...defaultServerConditions] },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
