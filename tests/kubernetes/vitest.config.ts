import { defineProject } from 'vitest/config';

// The first run builds kustomize and the validator with Go (module downloads included): minutes on a clean
// machine, seconds once .local/cache holds them.
export default defineProject({
  test: {
    name: '@hub/kubernetes',
    include: ['src/**/*.test.ts'],
    globalSetup: ['src/tools.setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 20 * 60_000,
  },
});
