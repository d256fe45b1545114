// Shared by `npm start` and `npm test`: install what is missing, build what changed. Plain Node.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../../deploy/local/stack.mjs';

const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

/** `npm ci` when node_modules is missing or older than the lock file. */
export function ensureInstalled() {
  const marker = path.join(REPO, 'node_modules/.package-lock.json');
  const lock = path.join(REPO, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  log('installing dependencies (npm ci)...');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: REPO,
    stdio: ['ignore', process.stderr, 'inherit'],
  });
}

/** Builds every package (turbo caches unchanged ones). */
export function build() {
  log('building (turbo run build)...');
  execFileSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
    cwd: REPO,
    stdio: ['ignore', process.stderr, 'inherit'],
  });
}

/** The local stack's configuration (deploy/local/dev.env). */
export function devEnv() {
  const text = readFileSync(path.join(REPO, 'deploy/local/dev.env'), 'utf8');
  const env = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2].trim();
  }
  return env;
}
