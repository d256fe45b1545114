import { defineProject } from 'vitest/config';

// Only the pure analysis is unit-tested here; the chaos run itself is `npm run chaos` (and a step of `npm test`).
export default defineProject({
  test: { name: '@hub/chaos', include: ['src/**/*.test.ts'] },
});
