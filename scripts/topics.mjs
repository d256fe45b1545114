#!/usr/bin/env node
// `npm run topics -- --check` / `--apply`: every topic of the hub against its plan (libs/kafka topicPlan):
// partitions, replication factor, min.insync.replicas, cleanup policy, message size limit. `--check`
// lists each difference and exits 1 if there is one; `--apply` creates missing topics, adds partitions and
// sets each topic's configuration, then checks. Settings from the environment, else deploy/local/dev.env:
// KAFKA_BROKERS, KAFKA_TOPIC_PARTITIONS (6), KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS, and the
// brokers' TLS and SASL settings (KAFKA_SSL*, KAFKA_SASL_*), as the services read them.
// This is the provisioning step for production, where services run with KAFKA_TOPICS=check.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../deploy/local/stack.mjs';
import { build, devEnv, ensureInstalled } from './lib/setup.mjs';

const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, apply: { type: 'boolean', default: false } },
});
if (values.check === values.apply) {
  process.stderr.write('usage: npm run topics -- --check | --apply\n');
  process.exit(2);
}
ensureInstalled();
if (!existsSync(path.join(REPO, 'libs/kafka/dist/index.js'))) build();
const { KafkaClient, kafkaConnectionFrom, topicPlan } = await import('@hub/kafka');
const { ConfigError, KafkaEnv, kafkaEnvProblems, loadConfig } = await import('@hub/config');
const { createLogger } = await import('@hub/observability');
const { default: Type } = await import('typebox');

// The services' own Kafka settings, validated the same way (brokers, TLS, SASL, topic settings).
let config;
try {
  config = loadConfig('topics', Type.Object(KafkaEnv), { ...devEnv(), ...process.env }, [kafkaEnvProblems]);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}
const plan = topicPlan({
  partitions: config.KAFKA_TOPIC_PARTITIONS,
  replicationFactor: config.KAFKA_REPLICATION_FACTOR,
  minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
});
const kafka = new KafkaClient({
  clientId: 'topics',
  ...kafkaConnectionFrom(config),
  logger: createLogger({ service: 'topics', level: 'warn' }),
});
const problems = values.apply ? await kafka.applyTopics(plan) : await kafka.checkTopics(plan);
for (const p of problems) process.stdout.write(`${p}\n`);
process.stdout.write(
  problems.length === 0
    ? `all ${plan.length} topics as planned on ${config.KAFKA_BROKERS.join(',')}\n`
    : `${problems.length} difference(s) from the plan\n`,
);
process.exit(problems.length === 0 ? 0 : 1);
