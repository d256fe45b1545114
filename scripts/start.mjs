#!/usr/bin/env node
// `npm start`: installs what is missing, fetches/builds the local infrastructure (cached), starts Kafka,
// FerretDB and every service, prints the base URL and a development token; Ctrl-C stops everything.
import { performance } from 'node:perf_hooks';
import { down, up } from '../deploy/local/stack.mjs';
import { onImageNode } from './lib/node-runtime.mjs';
import { stackEnv, startServices } from './lib/services.mjs';
import { build, devEnv, ensureInstalled } from './lib/setup.mjs';

// The images' Node for this script and everything it starts (scripts/lib/node-runtime.mjs).
await onImageNode();

const started = performance.now();
ensureInstalled();
build();
const infra = await up();
const env = stackEnv(devEnv());

const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const echo = (service, line) => {
  // Services log JSON (pino); show warnings and errors here, everything is in .local/logs/.
  try {
    const entry = JSON.parse(line);
    const level = typeof entry.level === 'number' ? LEVELS[entry.level] : entry.level;
    if (level === 'warn' || level === 'error' || level === 'fatal') {
      process.stderr.write(
        `${service} ${level}: ${entry.msg}${entry.err ? ` (${entry.err.message})` : ''}\n`,
      );
    }
  } catch {
    if (line.trim()) process.stderr.write(`${service}: ${line}\n`);
  }
};
const services = startServices(env, { echo });

let stopping = false;
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  process.stderr.write('\nstopping services...\n');
  await services.stop();
  await down(infra);
  process.exit(code);
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

try {
  await services.waitReady();
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  await stopAll(1);
}

const { signToken } = await import('@hub/http');
const token = signToken({
  secret: env.AUTH_JWT_SECRET,
  issuer: env.AUTH_JWT_ISSUER,
  audience: env.AUTH_JWT_AUDIENCE,
  orgId: 'dev-org',
  // The developer runs the hub: the operator's grant too (the console's pipeline figures).
  grants: ['integration:view', 'integration:manage', 'hub:operate'],
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(`
ERP integration hub is ready (${seconds} s).

  Base URL:   ${env.HUB_BASE_URL}
  Console:    ${env.HUB_BASE_URL}/console/#token=${token}
  Readiness:  ${env.HUB_BASE_URL}/readyz
  Logs:       .local/logs/<service>.log
  Token (organisation "dev-org", 12 h; another one: npm run --silent token -- --org <org>):

${token}

Try:  curl -s ${env.HUB_BASE_URL}/v2/integrations -H "Authorization: Bearer <token>"
Press Ctrl-C to stop everything.
`);
