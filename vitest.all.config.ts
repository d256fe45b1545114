import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

// One run over every package (each package is a project named after its package.json): unit tests next
// to the code (libs, services, web), integration tests under tests/. `npm test` runs it; a package alone: `npm test -w <name>`.
export default defineConfig({
  test: {
    projects: [`${root}libs/*`, `${root}services/*`, `${root}web/*`, `${root}tests/*`],
  },
});
