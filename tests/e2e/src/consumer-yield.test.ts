/**
 * Issue 19 (ADR 0015, decision 19), on the real broker: a batch handler that answers a `BatchYield` (some
 * of its chunk still in progress, as the mapper's events that run to the deadline) does not hold the
 * consumer's other partitions, which kafkajs fetches in one request per broker and fetches again only
 * when every partition's handler has returned. The yielding partition is paused until `resumeAfter`
 * settles, then fetched again from the first message not taken; the taken ones come no more.
 */
import { ConsumerRunner, KafkaClient, partitionOfKey } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { eventually, resolveStack, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'consumer-yield', level: 'fatal' });

/** A key of `prefix` that the default partitioner sends to `partition` of a 2-partition topic. */
function keyFor(topic: string, partition: number, prefix: string): string {
  for (let i = 0; ; i++)
    if (partitionOfKey(topic, `${prefix}-${i}`, 2) === partition) return `${prefix}-${i}`;
}

describe('a batch handler that yields', () => {
  it("lets the other partitions be fetched and handled meanwhile, then takes the held partition's rest", async () => {
    const client = new KafkaClient({ clientId: 'consumer-yield', brokers: stack.kafkaBrokers, logger });
    const topic = uniqueName('yield');
    await client.ensureTopics([{ topic, partitions: 2 }]);
    const producer = await client.producer();
    const first = keyFor(topic, 0, 'first');
    const held = keyFor(topic, 0, 'held');
    const behind = keyFor(topic, 0, 'behind');
    const others = [keyFor(topic, 1, 'other-a'), keyFor(topic, 1, 'other-b')];
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let isReleased = false;
    /** Every message each call was given, and the ones taken (committed). */
    const deliveries: string[][] = [];
    const taken: string[] = [];
    const consumer = new ConsumerRunner(client, {
      groupId: uniqueName('yield-group'),
      topics: [topic],
      logger,
      partitionsConsumedConcurrently: 2,
      handler: async () => {
        throw new Error('the batch handler never fails here');
      },
      batchHandler: async (messages) => {
        const keys = messages.map((m) => m.key!);
        deliveries.push(keys);
        const at = keys.indexOf(held);
        if (at >= 0 && !isReleased) {
          // Everything before the held message is done; the held one (and what follows) is not yet.
          taken.push(...keys.slice(0, at));
          return { taken: at, resumeAfter: released };
        }
        taken.push(...keys);
        return undefined;
      },
      onPermanentFailure: async () => undefined,
      onFatal: () => undefined,
    });
    await consumer.start();
    try {
      await producer.send([first, held].map((key) => ({ topic, key, value: { key } })));
      await eventually(async () => (taken.includes(first) ? true : undefined), 60_000, 'the first message');
      // Partition 0 is held at `held`; partition 1's messages, sent now, are still fetched and handled.
      await producer.send([
        ...others.map((key) => ({ topic, key, value: { key } })),
        { topic, key: behind, value: { key: behind } },
      ]);
      await eventually(
        async () => (others.every((k) => taken.includes(k)) ? true : undefined),
        60_000,
        "the other partition's messages while the first is held",
      );
      expect(taken).not.toContain(held);
      expect(taken).not.toContain(behind);
      isReleased = true;
      release();
      await eventually(async () => (taken.includes(behind) ? true : undefined), 60_000, 'the rest');
      expect(taken.filter((k) => [first, held, behind].includes(k))).toEqual([first, held, behind]);
      // The taken message was never given again; the held one was, from where the partition stopped.
      expect(deliveries.filter((d) => d.includes(first))).toHaveLength(1);
      expect(deliveries.at(-1)?.[0]).toBe(held);
    } finally {
      await consumer.stop();
      await producer.close();
    }
  }, 120_000);
});
