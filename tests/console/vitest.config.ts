import { defineProject } from 'vitest/config';

// The console in a real Chromium against the running stack: one file at a time, generous timeouts.
// globalSetup makes sure Debian's Chromium is installed (scripts/lib/chromium.mjs) before any test.
export default defineProject({
  test: {
    name: '@hub/console-tests',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    globalSetup: ['./src/global-setup.ts'],
  },
});
