// Debian's Chromium for the browser tests (tests/console): found at /usr/bin/chromium, else installed with
// apt-get (as root, else through sudo). No browser is ever downloaded from anywhere else.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

const log = (msg) => process.stderr.write(`[chromium] ${msg}\n`);

export function ensureChromium() {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const root = process.getuid?.() === 0;
  const run = (args) =>
    execFileSync(root ? 'apt-get' : 'sudo', root ? args : ['apt-get', ...args], {
      stdio: ['ignore', process.stderr, 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  log(`${CHROMIUM} is missing: installing Debian's chromium (apt-get install chromium)...`);
  try {
    run(['install', '-y', '--no-install-recommends', 'chromium']);
  } catch {
    log('updating the package lists first (apt-get update)...');
    run(['update']);
    run(['install', '-y', '--no-install-recommends', 'chromium']);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but ${CHROMIUM} is still missing`);
  log(`installed ${CHROMIUM}`);
  return CHROMIUM;
}
