import { defineProject } from 'vitest/config';

// Unit tests of the console's pure logic (the browser tests are in tests/console).
export default defineProject({ test: { name: '@hub/console', environment: 'node' } });
