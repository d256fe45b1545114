#!/usr/bin/env node
// `npm run contracts`: the evolution guard of the public topics' schemas (the same check `npm test` runs in
// libs/contracts/src/published.test.ts). Each public topic's current contract (key, headers, payload, built
// from the TypeBox schemas in libs/contracts) is compared with its committed snapshot
// libs/contracts/schemas/<topic>.v<N>.json of the same schema version; a breaking change fails.
//   npm run contracts                check; exits 1 on a breaking change or a snapshot not yet committed
//   npm run contracts -- --update    also writes the snapshots of additive changes and of a raised version
//                                    (refused while a breaking change stands under the same version)
//   npm run contracts -- --asyncapi  prints the AsyncAPI document (what the edge serves at /asyncapi.json)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../deploy/local/stack.mjs';
import { ensureInstalled } from './lib/setup.mjs';

const { values } = parseArgs({
  options: { update: { type: 'boolean', default: false }, asyncapi: { type: 'boolean', default: false } },
});
ensureInstalled();
// Always built first (turbo's cache makes it instant when nothing changed): a stale dist would check old schemas.
execFileSync('npx', ['turbo', 'run', 'build', '--filter=@hub/contracts', '--output-logs=errors-only'], {
  cwd: REPO,
  stdio: ['ignore', process.stderr, 'inherit'],
});
const contracts = await import('@hub/contracts');
if (values.asyncapi) {
  process.stdout.write(`${JSON.stringify(contracts.buildAsyncApi(), null, 2)}\n`);
  process.exit(0);
}
const changelog = readFileSync(path.join(REPO, 'docs/processed-entities.md'), 'utf8');
const result = contracts.checkPublished(
  contracts.topicContracts(),
  contracts.readSnapshots(contracts.SNAPSHOT_DIR),
  changelog,
);
for (const line of result.notices) process.stderr.write(`[contracts] ${line}\n`);
for (const line of result.problems) process.stderr.write(`[contracts] ${line}\n`);
if (values.update && result.problems.length === 0) {
  for (const { file, contract } of result.writes) {
    // Written here, not by libs/contracts: the services' code writes no file (read-only root filesystem).
    writeFileSync(path.join(contracts.SNAPSHOT_DIR, file), `${JSON.stringify(contract, null, 2)}\n`);
    process.stderr.write(`[contracts] wrote libs/contracts/schemas/${file}: commit it\n`);
  }
  process.exit(0);
}
for (const line of result.pending) process.stderr.write(`[contracts] ${line}\n`);
const failed = result.problems.length + result.pending.length > 0;
if (!failed) process.stderr.write('[contracts] every public topic matches its committed snapshot\n');
process.exit(failed ? 1 : 0);
