#!/usr/bin/env node
// `npm run chaos` (long form) and `npm run chaos -- --short`: installs and builds what is missing, then
// runs the chaos test (tests/chaos) on a stack of its own. Options: --events N --customers N --rate N --seed N.
import { spawnSync } from 'node:child_process';
import { REPO } from '../deploy/local/stack.mjs';
import { onImageNode } from './lib/node-runtime.mjs';
import { build, ensureInstalled } from './lib/setup.mjs';

// The images' Node for this script and everything it starts (scripts/lib/node-runtime.mjs).
await onImageNode();

ensureInstalled();
build();
const result = spawnSync('npx', ['tsx', 'tests/chaos/src/main.ts', ...process.argv.slice(2)], {
  cwd: REPO,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
