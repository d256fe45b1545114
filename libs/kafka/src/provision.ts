import { KafkaEnv, kafkaEnvProblems, LogEnv, loadConfig } from '@hub/config';
import { createLogger } from '@hub/observability';
import Type from 'typebox';
import { KafkaClient } from './client.js';
import { kafkaConnectionFrom } from './connection.js';
import { topicPlan } from './topics.js';

/** The settings of the topics command: the services' Kafka settings (libs/config KafkaEnv). */
export const TopicsCommandEnv = Type.Object({ ...LogEnv, ...KafkaEnv });

/**
 * `npm run topics -- --check|--apply` and the Kubernetes provisioning Job (`node libs/kafka/dist/topics-cli.js`):
 * every topic of the hub against its plan (topicPlan: partitions, replication factor, min.insync.replicas,
 * cleanup policy, message size limit). `check` lists each difference; `apply` creates the missing topics, adds
 * partitions, sets each topic's configuration, then checks. Resolves with the exit code: 0 when every topic
 * is as planned, 1 otherwise (or when the settings are invalid: every problem is written).
 */
export async function runTopicsCommand(
  mode: 'check' | 'apply',
  env: Record<string, string | undefined>,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<number> {
  let config: ReturnType<typeof loadConfig<typeof TopicsCommandEnv>>;
  try {
    config = loadConfig('topics', TopicsCommandEnv, env, [kafkaEnvProblems]);
  } catch (err) {
    write((err as Error).message);
    return 1;
  }
  const plan = topicPlan({
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
  });
  // The same connection as the services' (brokers, TLS, SASL: docs/secure-connections.md).
  const kafka = new KafkaClient({
    clientId: 'topics',
    ...kafkaConnectionFrom(config),
    // kafkajs' retries are noise here; what is not as planned is written below.
    logger: createLogger({
      service: 'topics',
      level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
    }),
  });
  const problems = mode === 'apply' ? await kafka.applyTopics(plan) : await kafka.checkTopics(plan);
  for (const p of problems) write(p);
  const brokers = config.KAFKA_BROKERS.join(',');
  // What the plan asked for, so the line says what a cluster's topics were checked against.
  const rf = config.KAFKA_REPLICATION_FACTOR ?? "the brokers' default";
  const isr = config.KAFKA_MIN_INSYNC_REPLICAS ?? "the brokers' default";
  const settings = `replication factor ${rf}, min.insync.replicas ${isr}`;
  write(
    problems.length === 0
      ? `all ${plan.length} topics as planned (${settings}) on ${brokers}`
      : `${problems.length} difference(s) from the plan (${settings}) on ${brokers}`,
  );
  return problems.length === 0 ? 0 : 1;
}
