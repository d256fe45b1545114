import { KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { resolveStack, uniqueName } from '@hub/testing';
import { afterAll, describe, expect, it } from 'vitest';

// The broker the stack runs (Kafka 4.4 by default) against kafkajs 2.2.4: every admin, producer and
// consumer operation the services rely on.
describe('kafkajs against the real broker', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'kafka-smoke', level: 'warn' });
  const client = new KafkaClient({ clientId: 'kafka-smoke', brokers: stack.kafkaBrokers, logger });
  const topic = uniqueName('smoke');
  const groupId = uniqueName('smoke-group');

  afterAll(async () => {
    const admin = await client.admin();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates topics, produces with acks=all, consumes in a group, commits, and reports offsets and groups', async () => {
    await client.ensureTopics([{ topic, partitions: 3 }]);
    const admin = await client.admin();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);

    const producer = await client.producer();
    const sent = Array.from({ length: 30 }, (_, i) => ({ topic, key: `k${i % 5}`, value: { n: i } }));
    await producer.send(sent);
    await producer.close();

    const received: Array<{ key: string; n: number; partition: number }> = [];
    const consumer = client.kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          received.push({
            key: message.key!.toString(),
            n: JSON.parse(message.value!.toString()).n,
            partition,
          });
          if (received.length === sent.length) resolve();
        },
      });
    });
    await done;
    // Every message once, and per key in the order produced.
    expect(received.map((r) => r.n).sort((a, b) => a - b)).toEqual(sent.map((_, i) => i));
    for (const key of ['k0', 'k1', 'k2', 'k3', 'k4']) {
      const ns = received.filter((r) => r.key === key).map((r) => r.n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
      expect(new Set(received.filter((r) => r.key === key).map((r) => r.partition)).size).toBe(1);
    }

    const described = await admin.describeGroups([groupId]);
    expect(described.groups[0]?.state).toBe('Stable');
    await consumer.disconnect(); // commits the resolved offsets

    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Math.max(Number(p.offset), 0), 0);
    expect(committed).toBe(sent.length);
    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.reduce((sum, p) => sum + Number(p.high), 0)).toBe(sent.length);
    await admin.disconnect();
  });
});
