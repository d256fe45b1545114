/**
 * Issue 10 item 4, on the real broker: a message that keeps failing for a reason of its own is
 * dead-lettered after a bounded number of attempts and the partition moves on; a dependency that is
 * down (here: the broker said so) is waited for without limit.
 */
import { BrokerUnavailableError, ConsumerRunner, KafkaClient, type PermanentError } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { eventually, resolveStack, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'consumer-retries', level: 'fatal' });

describe('bounded retries', () => {
  it('dead-letters a message that always fails (RETRIES_EXHAUSTED), keeps going, and waits out an unavailable dependency', async () => {
    const client = new KafkaClient({ clientId: 'consumer-retries', brokers: stack.kafkaBrokers, logger });
    const topic = uniqueName('retries');
    await client.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await client.producer();
    const attempts = new Map<string, number>();
    const processed: string[] = [];
    const deadLettered: Array<{ key: string; code: string; attempts: number }> = [];
    const consumer = new ConsumerRunner(client, {
      groupId: uniqueName('retries-group'),
      topics: [topic],
      logger,
      retry: { initialMs: 5, maxMs: 10 },
      handler: async (message) => {
        const key = message.key!;
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (key === 'poison') throw new Error('a value the database refuses');
        if (key === 'waits' && n <= 25) throw new BrokerUnavailableError('broker not reachable yet');
        processed.push(key);
      },
      onPermanentFailure: async (message, error: PermanentError, n) => {
        deadLettered.push({ key: message.key!, code: error.code, attempts: n });
      },
      onFatal: () => undefined,
    });
    await consumer.start();
    try {
      await producer.send(
        ['poison', 'after', 'waits', 'last'].map((key) => ({ topic, key, value: { key } })),
      );
      await eventually(
        async () => (processed.includes('last') ? true : undefined),
        60_000,
        'the last message',
      );
      expect(deadLettered).toEqual([{ key: 'poison', code: 'RETRIES_EXHAUSTED', attempts: 10 }]);
      expect(processed).toEqual(['after', 'waits', 'last']);
      expect(attempts.get('waits')).toBe(26); // 25 waits for the broker are not attempts at the message
    } finally {
      await consumer.stop();
      await producer.close();
    }
  }, 90_000);
});
