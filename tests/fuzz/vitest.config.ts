import { defineProject } from 'vitest/config';

// The fuzzer itself is `npm run fuzz` (its quick form runs in `npm test`); here only its baseline is checked.
export default defineProject({
  test: { name: '@hub/fuzz', include: ['src/**/*.test.ts'] },
});
