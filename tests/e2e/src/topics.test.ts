/**
 * Issue 12, item 4 on the real broker: topics checked against their plan (partitions, replication,
 * cleanup policy, size limit, min.insync.replicas), made as planned by `apply`, and a service in
 * `KAFKA_TOPICS=check` mode refusing to start on a missing topic with a message that says which.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KafkaClient, TopicsNotReadyError, topicPlan } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { devEnv, resolveStack } from '@hub/testing';
import { afterAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
const kafka = new KafkaClient({
  clientId: 'topics-test',
  brokers: stack.kafkaBrokers,
  logger: createLogger({ service: 'test', level: 'warn' }),
});
const made: string[] = [];
afterAll(async () => {
  const admin = await kafka.admin();
  try {
    if (made.length > 0) await admin.deleteTopics({ topics: made });
  } finally {
    await admin.disconnect();
  }
});

describe('topic provisioning', () => {
  it('finds the running stack’s topics as planned', async () => {
    const partitions = Number(process.env.KAFKA_TOPIC_PARTITIONS ?? devEnv().KAFKA_TOPIC_PARTITIONS ?? 6);
    expect(await kafka.checkTopics(topicPlan({ partitions }))).toEqual([]);
  });

  it('the images’ provisioning command (the Kubernetes Job) checks the same plan and says so', async () => {
    const partitions = Number(process.env.KAFKA_TOPIC_PARTITIONS ?? devEnv().KAFKA_TOPIC_PARTITIONS ?? 6);
    const cli = fileURLToPath(new URL('../../../libs/kafka/dist/topics-cli.js', import.meta.url));
    const run = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, [cli, '--check'], {
        env: { ...process.env, KAFKA_BROKERS: stack.kafkaBrokers.join(','), ...env },
        timeout: 60_000,
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (err: { code?: number; stdout?: string }) => ({ code: err.code, stdout: err.stdout ?? '' }),
      );
    const asPlanned = await run({ KAFKA_TOPIC_PARTITIONS: String(partitions) });
    expect(asPlanned.stdout).toContain(`all ${topicPlan({ partitions }).length} topics as planned`);
    expect(asPlanned.code).toBe(0);
    // More partitions than the topics have (only checked: nothing is changed).
    const more = await run({ KAFKA_TOPIC_PARTITIONS: String(partitions + 1) });
    expect(more.stdout).toContain(`erp.inbound.events: ${partitions} partitions, planned ${partitions + 1}`);
    expect(more.code).toBe(1);
  });

  it('names every difference of a misconfigured topic, and apply makes it as planned', async () => {
    const topic = `test.topics-${randomUUID().slice(0, 8)}`;
    made.push(topic);
    const admin = await kafka.admin();
    try {
      await admin.createTopics({
        topics: [
          { topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1048588' }] },
        ],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    const spec = [{ topic, partitions: 3, compacted: true, minInsyncReplicas: 1 }];
    const problems = await kafka.checkTopics(spec);
    expect(problems).toEqual([
      `${topic}: 1 partitions, planned 3`,
      `${topic}: cleanup.policy delete, planned compact`,
      expect.stringMatching(
        new RegExp(`^${topic.replace('.', '\\.')}: max.message.bytes \\d+, planned at least 33554432$`),
      ),
    ]);
    expect(await kafka.applyTopics(spec)).toEqual([]);
    expect(await kafka.checkTopics(spec)).toEqual([]);
  });

  it('in check mode refuses to start on a missing topic, saying which and how to fix it', async () => {
    const missing = `test.missing-${randomUUID().slice(0, 8)}`;
    const error = await kafka
      .prepareTopics([{ topic: missing, partitions: 3 }], 'check')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopicsNotReadyError);
    expect((error as Error).message).toContain(`${missing}: missing`);
    expect((error as Error).message).toContain('npm run topics -- --apply');
    const admin = await kafka.admin();
    try {
      expect(await admin.listTopics()).not.toContain(missing);
    } finally {
      await admin.disconnect();
    }
  });
});
