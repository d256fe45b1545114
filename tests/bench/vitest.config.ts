import { defineProject } from 'vitest/config';

// Only the pure helpers are unit-tested here (no timings); the benchmark itself is `npm run bench`.
export default defineProject({
  test: { name: '@hub/bench', include: ['src/**/*.test.ts'] },
});
