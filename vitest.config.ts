import { defineConfig } from 'vitest/config';

// One run over every package: unit tests next to the code, integration tests under tests/.
export default defineConfig({
  test: {
    projects: ['libs/*', 'services/*', 'tests/*'],
  },
});
