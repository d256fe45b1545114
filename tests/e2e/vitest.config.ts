import { defineProject } from 'vitest/config';

// Integration tests against the running stack: one file at a time, generous timeouts.
export default defineProject({
  test: {
    name: '@hub/e2e',
    testTimeout: 90_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
});
