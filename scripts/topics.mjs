#!/usr/bin/env node
// `npm run topics -- --check` / `--apply`: every topic of the hub against its plan (libs/kafka topicPlan):
// partitions, replication factor, min.insync.replicas, cleanup policy, message size limit. `--check`
// lists each difference and exits 1 if there is one; `--apply` creates missing topics, adds partitions and
// sets each topic's configuration, then checks. Settings from the environment, else deploy/local/dev.env:
// KAFKA_BROKERS, KAFKA_TOPIC_PARTITIONS (6), KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS.
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
const { KafkaClient, topicPlan } = await import('@hub/kafka');
const { createLogger } = await import('@hub/observability');

const env = { ...devEnv(), ...process.env };
const int = (key) => (env[key] ? Number(env[key]) : undefined);
const plan = topicPlan({
  partitions: int('KAFKA_TOPIC_PARTITIONS') ?? 6,
  replicationFactor: int('KAFKA_REPLICATION_FACTOR'),
  minInsyncReplicas: int('KAFKA_MIN_INSYNC_REPLICAS'),
});
const kafka = new KafkaClient({
  clientId: 'topics',
  brokers: env.KAFKA_BROKERS.split(','),
  logger: createLogger({ service: 'topics', level: 'warn' }),
});
const problems = values.apply ? await kafka.applyTopics(plan) : await kafka.checkTopics(plan);
for (const p of problems) process.stdout.write(`${p}\n`);
process.stdout.write(
  problems.length === 0
    ? `all ${plan.length} topics as planned on ${env.KAFKA_BROKERS}\n`
    : `${problems.length} difference(s) from the plan\n`,
);
process.exit(problems.length === 0 ? 0 : 1);
