import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests and examples import `trpc-lanyard/...` as users do; this condition maps it to src/.
    conditions: ['@trpc-lanyard/source'],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
