// The topic provisioning as a command inside the service images (the Kubernetes Job of deploy/kubernetes):
//   node libs/kafka/dist/topics-cli.js --check | --apply
// Settings from the environment, as the services read them (KAFKA_BROKERS, KAFKA_TOPIC_PARTITIONS,
// KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS, and the brokers' TLS and SASL settings KAFKA_SSL*,
// KAFKA_SASL_*). `npm run topics` runs the same code.
import { parseArgs } from 'node:util';
import { runTopicsCommand } from './provision.js';

const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, apply: { type: 'boolean', default: false } },
});
if (values.check === values.apply) {
  process.stderr.write('usage: topics-cli --check | --apply\n');
  process.exit(2);
}
try {
  process.exit(await runTopicsCommand(values.apply ? 'apply' : 'check', process.env));
} catch (err) {
  process.stderr.write(`topics: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
