// The database layout as a command inside the service images (the Kubernetes Job of deploy/kubernetes):
//   node libs/mongo/dist/db-cli.js --check | --apply
// Settings from the environment, as the services read them (MONGO_URL, MONGO_TLS_CA_FILE,
// MONGO_TLS_CERT_KEY_FILE). `npm run db` runs the same code.
import { parseArgs } from 'node:util';
import { runDbCommand } from './db-command.js';

const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, apply: { type: 'boolean', default: false } },
});
if (values.check === values.apply) {
  process.stderr.write('usage: db-cli --check | --apply\n');
  process.exit(2);
}
try {
  process.exit(await runDbCommand(values.apply ? 'apply' : 'check', process.env));
} catch (err) {
  process.stderr.write(`db: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
