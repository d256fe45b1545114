import { Registry } from '@hub/http';
import { ConsumerRunner, KafkaClient, PermanentError } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { eventually, resolveStack, uniqueName } from '@hub/testing';
import { afterAll, describe, expect, it } from 'vitest';

const stack = resolveStack();

/** Sum of the samples of `name` in a registry whose labels include `labels`. */
async function sample(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name.replace(/_(bucket|count|sum)$/, ''));
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter(
      (v) =>
        (v as { metricName?: string }).metricName === undefined ||
        (v as { metricName?: string }).metricName === name,
    )
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('consumer metrics of ConsumerRunner on the real Kafka', () => {
  const logger = createLogger({ service: 'consumer-metrics-test', level: 'warn' });
  const client = new KafkaClient({ clientId: 'consumer-metrics-test', brokers: stack.kafkaBrokers, logger });
  const topic = uniqueName('metrics');
  const groupId = uniqueName('metrics-group');

  afterAll(async () => {
    const admin = await client.admin();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('reports lag per partition, handler time, message age, retries and outcomes', async () => {
    await client.ensureTopics([{ topic, partitions: 2 }]);
    const producer = await client.producer();
    const registry = new Registry();
    const tries = new Map<string, number>();
    let finished = 0;
    const consumer = new ConsumerRunner(client, {
      groupId,
      topics: [topic],
      logger,
      metrics: registry,
      retry: { initialMs: 10, maxMs: 20 },
      handler: async (message) => {
        const key = message.key ?? '';
        const n = (tries.get(key) ?? 0) + 1;
        tries.set(key, n);
        if (key === 'flaky' && n <= 2) throw new Error('not yet');
        if (key === 'bad') throw new PermanentError('BAD', 'validation', 'never');
        finished++;
      },
      onPermanentFailure: async () => {
        finished++;
      },
      onFatal: (err) => {
        throw err;
      },
    });
    await producer.send(['a', 'b', 'c', 'flaky', 'bad'].map((key) => ({ topic, key, value: { key } })));
    await consumer.start();
    try {
      await eventually(async () => (finished === 5 ? true : undefined), 30_000, 'five messages');
      const group = { group: groupId, topic };
      expect(await sample(registry, 'hub_consumer_messages_total', { ...group, outcome: 'processed' })).toBe(
        4,
      );
      expect(
        await sample(registry, 'hub_consumer_messages_total', { ...group, outcome: 'dead_lettered' }),
      ).toBe(1);
      expect(await sample(registry, 'hub_consumer_retries_total', group)).toBe(2);
      // Attempts: a, b, c once, flaky three times, bad once.
      expect(await sample(registry, 'hub_consumer_handler_duration_seconds_count', group)).toBe(7);
      expect(await sample(registry, 'hub_consumer_event_age_seconds_count', group)).toBe(5);
      const age = await sample(registry, 'hub_consumer_event_age_seconds_sum', group);
      expect(age).toBeGreaterThan(0);
      expect(age).toBeLessThan(5 * 60);
      // Offsets are committed shortly after handling: the lag of both partitions returns to 0.
      await eventually(
        async () => {
          const text = await registry.metrics();
          const lines = text
            .split('\n')
            .filter((l) => l.startsWith('hub_consumer_lag{') && l.includes(groupId));
          return lines.length === 2 && lines.every((l) => l.endsWith(' 0')) ? lines : undefined;
        },
        15_000,
        'lag 0 on both partitions',
      );
    } finally {
      await consumer.stop();
    }

    // Messages the group has not committed yet are lag: a member stuck on the first of three shows 3.
    await producer.send([1, 2, 3].map((n) => ({ topic, key: 'x', value: { n } })));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stuckRegistry = new Registry();
    const stuck = new ConsumerRunner(client, {
      groupId,
      topics: [topic],
      logger,
      metrics: stuckRegistry,
      handler: () => gate,
      onPermanentFailure: async () => undefined,
      onFatal: (err) => {
        throw err;
      },
    });
    await stuck.start();
    try {
      await eventually(
        async () =>
          (await sample(stuckRegistry, 'hub_consumer_lag', { group: groupId })) === 3 ? true : undefined,
        30_000,
        'lag 3 while the handler is stuck',
      );
      release();
      await eventually(
        async () =>
          (await sample(stuckRegistry, 'hub_consumer_lag', { group: groupId })) === 0 ? true : undefined,
        30_000,
        'lag 0 once released',
      );
    } finally {
      release();
      await stuck.stop();
      await producer.close();
    }
  });
});
