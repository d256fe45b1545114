#!/usr/bin/env node
// `npm run topics -- --check` / `--apply`: every topic of the hub against its plan (libs/kafka topicPlan):
// partitions, replication factor, min.insync.replicas, cleanup policy, message size limit. `--check`
// lists each difference and exits 1 if there is one; `--apply` creates missing topics, adds partitions and
// sets each topic's configuration, then checks. Settings from the environment, else the local stack's
// (deploy/local/stack.mjs: its brokers on KAFKA_PORT, and with HUB_KAFKA_NODES=3 the cluster's three
// brokers with replication factor 3 and min.insync.replicas 2), else deploy/local/dev.env:
// KAFKA_BROKERS, KAFKA_TOPIC_PARTITIONS (6), KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS, and the
// brokers' TLS and SASL settings (KAFKA_SSL*, KAFKA_SASL_*: docs/secure-connections.md).
// This is the provisioning step for production, where services run with KAFKA_TOPICS=check (on Kubernetes:
// the Job of deploy/kubernetes/base/topics-job.yaml runs the same code in an image).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KAFKA_NODES, kafkaBrokers, kafkaTopicEnv, REPO } from '../deploy/local/stack.mjs';
import { build, devEnv, ensureInstalled } from './lib/setup.mjs';

const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, apply: { type: 'boolean', default: false } },
});
if (values.check === values.apply) {
  process.stderr.write('usage: npm run topics -- --check | --apply\n');
  process.exit(2);
}
ensureInstalled();
if (!existsSync(path.join(REPO, 'libs/kafka/dist/provision.js'))) build();
// The same code as the Kubernetes provisioning Job (node libs/kafka/dist/topics-cli.js).
const { runTopicsCommand } = await import('@hub/kafka');
// On the cluster the stack's brokers and topic settings come before dev.env's single broker.
const local = KAFKA_NODES === 1 ? {} : { KAFKA_BROKERS: kafkaBrokers(), ...kafkaTopicEnv() };
process.exit(
  await runTopicsCommand(values.apply ? 'apply' : 'check', { ...devEnv(), ...local, ...process.env }),
);
