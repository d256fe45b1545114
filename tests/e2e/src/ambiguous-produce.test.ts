/**
 * The ambiguous produce, at the broker boundary: a gateway whose Kafka connection runs through a proxy
 * that lets the broker write each produce request and then loses the answer. The gateway cannot know
 * whether its events were written, so it answers 503; the client retries; the change must be applied
 * exactly once, and nothing sent after the fault may be lost (invariants 1, 3 and 6).
 */
import { Topics } from '@hub/contracts';
import {
  apiClient,
  collectTopic,
  eventually,
  KafkaProxy,
  killInstances,
  orgWithUseCase,
  resolveStack,
  type ServiceInstance,
  startInstance,
  type TopicCollector,
} from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
let processed: TopicCollector;
let proxy: KafkaProxy;
let gateway: ServiceInstance;

beforeAll(async () => {
  processed = await collectTopic(stack.kafkaBrokers, Topics.entitiesProcessed);
  proxy = await KafkaProxy.start(stack.kafkaBrokers[0]!);
  gateway = await startInstance(stack, 'ingest-gateway', 24581, {
    KAFKA_BROKERS: proxy.address,
    KAFKA_TOPICS: 'check',
  });
}, 90_000);
afterAll(async () => {
  killInstances();
  await proxy?.close();
  await processed?.stop();
});

interface Answer {
  results?: Array<{ status: string; event_id: string }>;
  code?: string;
}

describe('a produce the broker wrote but whose answer was lost', () => {
  it('is retried by the client under the same event id and applied once; later events are not lost', async () => {
    const { token, integrationId, org } = await orgWithUseCase(stack, 'ambiguous', {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          fields: [
            { attribute: 'customer_number', field: 'customerId' },
            { attribute: 'name', field: 'name' },
          ],
        },
      ],
    });
    const api = apiClient(gateway.base, token);
    const post = (deduplicationId: string, payload: Record<string, string>) =>
      api.request<Answer>('POST', '/v2/erp/updates/events', {
        integration_id: integrationId,
        events: [
          {
            event_type: 'UPDATE',
            object_type: 'customer',
            timestamp: new Date().toISOString(),
            format: 'json',
            payload: JSON.stringify(payload),
            deduplication_id: deduplicationId,
          },
        ],
      });

    proxy.loseProduceAnswers();
    const lost = await post('change-1', { customerId: 'AMB-1', name: 'first' });
    proxy.heal();
    expect(lost.status).toBe(503);
    expect(lost.body.code).toBe('BROKER_UNAVAILABLE');
    // The broker did write: the fault is the ambiguous one, not a broker that refused.
    expect(proxy.counts.lostAnswers).toBeGreaterThan(0);

    // A different request right after the fault (same partition): it must be written, not taken by the
    // broker for a retry of the records it already holds.
    const other = await post('other-1', { customerId: 'AMB-2', name: 'other' });
    expect(other.body.results?.map((r) => r.status)).toEqual(['success']);

    // The client's retry of the lost answer: accepted at once, under the event id of the written copy.
    const retry = await post('change-1', { customerId: 'AMB-1', name: 'first' });
    expect(retry.status).toBe(200);
    expect(retry.body.results?.map((r) => r.status)).toEqual(['success']);
    const changeId = retry.body.results![0]!.event_id;

    // A later change of the same entity: same inbound partition and same entity-updates partition, so once
    // it is processed every copy of the first change has been processed before it.
    const later = await post('change-2', { customerId: 'AMB-1', name: 'second' });
    const laterId = later.body.results![0]!.event_id;
    type Processed = { org_id: string; action: string; entity_id: string; source: { event_id: string } };
    const mine = () => processed.values<Processed>((p) => p.org_id === org);
    await eventually(
      async () => (mine().some((p) => p.source?.event_id === laterId) ? true : undefined),
      60_000,
      'the later change processed',
    );
    await eventually(
      async () =>
        mine().some((p) => p.source?.event_id === other.body.results![0]!.event_id) ? true : undefined,
      30_000,
      'the event sent right after the fault processed',
    );
    const ofFirst = mine().filter((p) => p.source?.event_id === changeId);
    expect(ofFirst.map((p) => p.action)).toEqual(['created']);
    expect(
      mine()
        .filter((p) => p.source?.event_id === laterId)
        .map((p) => p.action),
    ).toEqual(['updated']);
  }, 120_000);
});
