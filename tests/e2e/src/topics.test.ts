/**
 * Issue 12, item 4 on the real broker: topics checked against their plan (partitions, replication,
 * cleanup policy, size limit, min.insync.replicas), made as planned by `apply`, and a service in
 * `KAFKA_TOPICS=check` mode refusing to start on a missing topic with a message that says which.
 */
import { randomUUID } from 'node:crypto';
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
