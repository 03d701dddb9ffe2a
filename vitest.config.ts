import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // tfjs backends are process-global; forks keep test files from sharing one.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
