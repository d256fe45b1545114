import { KafkaClient, partitionOfKey, scanTopic, TopicScanner } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { resolveStack, uniqueName } from '@hub/testing';
import { afterAll, describe, expect, it } from 'vitest';

// The entity-writer's recovery check ("is this change already on the processed topic?") reads a time
// range of a topic with scanTopic: it must see every record written since then, in every partition.
describe('scanTopic on the real broker', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'kafka-scan', level: 'warn' });
  const client = new KafkaClient({ clientId: 'kafka-scan', brokers: stack.kafkaBrokers, logger });
  const topic = uniqueName('scan');

  afterAll(async () => {
    const admin = await client.admin();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('visits every record written at or after the given time, up to the end of each partition', async () => {
    await client.ensureTopics([{ topic, partitions: 3 }]);
    const producer = await client.producer();
    await producer.send(Array.from({ length: 12 }, (_, i) => ({ topic, key: `old${i}`, value: { n: i } })));
    await new Promise((r) => setTimeout(r, 1_100));
    const since = Date.now();
    await producer.send(
      Array.from({ length: 20 }, (_, i) => ({ topic, key: `new${i}`, value: { n: 100 + i } })),
    );
    await producer.close();

    const seen: number[] = [];
    await scanTopic(client, {
      topic,
      sinceMs: since,
      visit: (m) => seen.push((JSON.parse(m.value!.toString()) as { n: number }).n),
    });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));

    const none: unknown[] = [];
    await scanTopic(client, { topic, sinceMs: Date.now() + 60_000, visit: (m) => none.push(m) });
    expect(none).toEqual([]);
  });

  it('a long-lived scanner reads again and again, and only the partitions of the keys asked for', async () => {
    const keyed = uniqueName('scan-keys');
    await client.ensureTopics([{ topic: keyed, partitions: 6 }]);
    const producer = await client.producer();
    const scanner = new TopicScanner(client, keyed, logger);
    try {
      const since = Date.now() - 1_000;
      const keys = Array.from({ length: 30 }, (_, i) => `entity-${i}`);
      for (let round = 0; round < 3; round++) {
        await producer.send(keys.map((key) => ({ topic: keyed, key, value: { key, round } })));
        const wanted = [keys[round]!, keys[round + 10]!];
        const seen: Array<{ key: string; round: number; partition: number }> = [];
        await scanner.scan({
          sinceMs: since,
          keys: wanted,
          visit: (m) => seen.push({ ...JSON.parse(m.value!.toString()), partition: m.partition }),
        });
        // Every record of the wanted keys so far, and nothing from partitions they are not on.
        for (const key of wanted) {
          expect(
            seen
              .filter((s) => s.key === key)
              .map((s) => s.round)
              .sort(),
          ).toEqual(Array.from({ length: round + 1 }, (_, r) => r));
        }
        const partitions = new Set(wanted.map((k) => partitionOfKey(keyed, k, 6)));
        expect(seen.every((s) => partitions.has(s.partition))).toBe(true);
      }
    } finally {
      await scanner.stop();
      await producer.close();
      const admin = await client.admin();
      await admin.deleteTopics({ topics: [keyed] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
