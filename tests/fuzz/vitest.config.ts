import { defineProject } from 'vitest/config';

// Nothing to unit-test here: the fuzzer is `npm run fuzz` (its quick form runs in `npm test`).
export default defineProject({
  test: { name: '@hub/fuzz', include: ['src/**/*.test.ts'], passWithNoTests: true },
});
