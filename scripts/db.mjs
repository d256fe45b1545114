#!/usr/bin/env node
// `npm run db -- --check` / `--apply`: every collection's indexes and TTL against the database plan
// (libs/mongo/src/plan.ts), in the flavour of the server (MongoDB: the whole plan; FerretDB: its unique
// indexes). `--check` lists each difference and exits 1 if there is one; `--apply` makes the database as
// planned (collMod where MongoDB converts an index in place, otherwise drop and build), then checks.
// Settings from the environment, else deploy/local/dev.env: MONGO_URL, MONGO_TLS_CA_FILE, MONGO_TLS_CERT_KEY_FILE.
// This is the layout step for production, where services run with DB_LAYOUT=check (on Kubernetes: the Job
// of deploy/kubernetes/base/db-job.yaml runs the same code in an image). docs/production-mongodb.md.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../deploy/local/stack.mjs';
import { build, devEnv, ensureInstalled } from './lib/setup.mjs';

const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, apply: { type: 'boolean', default: false } },
});
if (values.check === values.apply) {
  process.stderr.write('usage: npm run db -- --check | --apply\n');
  process.exit(2);
}
ensureInstalled();
if (!existsSync(path.join(REPO, 'libs/mongo/dist/db-command.js'))) build();
// The same code as the Kubernetes layout Job (node libs/mongo/dist/db-cli.js).
const { runDbCommand } = await import('@hub/mongo/db');
process.exit(await runDbCommand(values.apply ? 'apply' : 'check', { ...devEnv(), ...process.env }));
