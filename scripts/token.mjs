#!/usr/bin/env node
// Prints a development JWT for the local stack, and nothing else:
//   npm run --silent token -- --org <org> [--grants integration:view,integration:manage[,hub:operate]] [--hours 12]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../deploy/local/stack.mjs';
import { devEnv, ensureInstalled } from './lib/setup.mjs';

const { values } = parseArgs({
  options: {
    org: { type: 'string' },
    grants: { type: 'string', default: 'integration:view,integration:manage' },
    hours: { type: 'string', default: '12' },
    subject: { type: 'string' },
  },
});
if (!values.org) {
  process.stderr.write('usage: npm run --silent token -- --org <org> [--grants a,b] [--hours 12]\n');
  process.exit(2);
}
ensureInstalled();
if (!existsSync(path.join(REPO, 'libs/http/dist/index.js'))) {
  execFileSync('npx', ['turbo', 'run', 'build', '--filter=@hub/http', '--output-logs=none'], {
    cwd: REPO,
    stdio: 'ignore',
  });
}
const { signToken } = await import('@hub/http');
const env = devEnv();
process.stdout.write(
  `${signToken({
    secret: process.env.AUTH_JWT_SECRET ?? env.AUTH_JWT_SECRET,
    issuer: process.env.AUTH_JWT_ISSUER ?? env.AUTH_JWT_ISSUER,
    audience: process.env.AUTH_JWT_AUDIENCE ?? env.AUTH_JWT_AUDIENCE,
    orgId: values.org,
    subject: values.subject,
    grants: values.grants.split(',').filter(Boolean),
    expiresInSeconds: Number(values.hours) * 3600,
  })}\n`,
);
