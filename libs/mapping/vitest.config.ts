import { defineProject } from 'vitest/config';

// Lets `npx vitest run` work from this folder (the root config lists projects relative to the repo root).
export default defineProject({
  test: { name: '@hub/mapping', include: ['src/**/*.test.ts'] },
});
