/**
 * Invariants 2 and 3 against the running writer: updates with the same unique ids arriving on different
 * partitions at once (so several writer slots, or instances, handle them concurrently) converge on one
 * entity, and each change is published exactly once.
 */
import { randomUUID } from 'node:crypto';
import { Topics } from '@hub/contracts';
import { KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import {
  apiClient,
  collectTopic,
  eventually,
  resolveStack,
  type TopicCollector,
  testToken,
  uniqueName,
} from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
let processed: TopicCollector;

beforeAll(async () => {
  processed = await collectTopic(stack.kafkaBrokers, Topics.entitiesProcessed);
});
afterAll(() => processed?.stop());

describe('many writers at once', () => {
  it('converges concurrent upserts of the same unique ids on one entity, one processed message per change', async () => {
    const org = uniqueName('converge');
    const api = apiClient(stack.baseUrl, testToken(stack, org));
    const kafka = new KafkaClient({
      clientId: 'test-converge',
      brokers: stack.kafkaBrokers,
      logger: createLogger({ service: 'test', level: 'warn' }),
    });
    const producer = await kafka.producer();
    const updates = Array.from({ length: 24 }, (_, i) => ({
      schema_version: 1,
      update_id: `${randomUUID()}:0`,
      org_id: org,
      integration_id: 'i',
      use_case_id: 'u',
      event_id: `e${i}`,
      correlation_id: 'c',
      entity_schema: 'contact',
      mode: 'upsert',
      unique_ids: { customer_number: 'SAME' },
      attributes: { customer_number: 'SAME', [`field_${i}`]: i },
    }));
    try {
      // Random keys spread the same entity over every partition: the writer sees them concurrently.
      await producer.send(
        updates.map((value) => ({ topic: Topics.entityUpdates, key: randomUUID(), value })),
      );
    } finally {
      await producer.close();
    }
    const mine = () =>
      processed.values<{ org_id: string; action: string; entity_id: string; meta: { change_id: string } }>(
        (p) => p.org_id === org,
      );
    await eventually(async () => (mine().length >= 24 ? true : undefined), 60_000, '24 processed messages');
    await new Promise((r) => setTimeout(r, 2_000)); // a late duplicate would arrive by now

    const entities = await api.request<{ results: Array<Record<string, unknown>> }>(
      'GET',
      '/v1/entity/contact?customer_number=SAME',
    );
    expect(entities.body.results).toHaveLength(1);
    const entity = entities.body.results[0]!;
    for (let i = 0; i < 24; i++) expect(entity[`field_${i}`]).toBe(i); // no update was lost to a race

    const messages = mine();
    expect(messages).toHaveLength(24);
    expect(new Set(messages.map((m) => m.meta.change_id)).size).toBe(24);
    expect(new Set(messages.map((m) => m.entity_id))).toEqual(new Set([entity._id]));
    expect(messages.filter((m) => m.action === 'created')).toHaveLength(1);
  });
});
