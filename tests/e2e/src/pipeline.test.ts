/**
 * `GET /v2/hub/pipeline` (issue 13, the console's monitoring page): each consumer group's lag on its topic,
 * per partition, and the dead letters retained, measured on the broker, behind a token like every API call.
 */
import { KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { apiClient, eventually, orgWithUseCase, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();

interface Pipeline {
  measured_at: string;
  consumer_groups: Array<{
    group: string;
    topic: string;
    lag: number;
    partitions: Array<{ partition: number; lag: number }>;
  }>;
  dead_letters: { topic: string; retained: number };
}

describe('the pipeline figures', () => {
  it('needs the operator’s grant: an organisation’s token, however privileged, is 403', async () => {
    expect((await apiClient(stack.baseUrl).request('GET', '/v2/hub/pipeline')).status).toBe(401);
    const organisation = apiClient(stack.baseUrl, testToken(stack, uniqueName('pipeline')));
    const refused = await organisation.request<{ message: string }>('GET', '/v2/hub/pipeline');
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('token lacks the grant hub:operate');
  });

  it('shows every consumer group of the pipeline with each partition, and counts a new dead letter', async () => {
    const api = apiClient(
      stack.baseUrl,
      testToken(stack, uniqueName('pipeline'), ['integration:view', 'hub:operate']),
    );
    const before = await api.request<Pipeline>('GET', '/v2/hub/pipeline');
    expect(before.status).toBe(200);
    expect(before.body.consumer_groups.map((g) => [g.group, g.topic])).toEqual([
      ['mapper', 'erp.inbound.events'],
      ['entity-writer', 'erp.entity.updates'],
      ['config-service-monitoring', 'erp.monitoring.events'],
    ]);
    // Every partition the broker has for each topic, numbered from 0 (an empty list would prove nothing).
    const kafka = new KafkaClient({
      clientId: 'pipeline-test',
      brokers: stack.kafkaBrokers,
      logger: createLogger({ service: 'pipeline-test', level: 'warn' }),
    });
    const admin = await kafka.admin();
    const { topics } = await admin
      .fetchTopicMetadata({ topics: before.body.consumer_groups.map((g) => g.topic) })
      .finally(() => admin.disconnect());
    for (const g of before.body.consumer_groups) {
      const planned = topics.find((t) => t.name === g.topic)?.partitions.length ?? 0;
      expect(planned, g.topic).toBeGreaterThan(0);
      expect(g.partitions.map((p) => p.partition)).toEqual(Array.from({ length: planned }, (_, i) => i));
      expect(g.lag).toBe(g.partitions.reduce((sum, p) => sum + p.lag, 0));
    }
    expect(before.body.dead_letters.topic).toBe('erp.dead-letters');

    // An event its mapping cannot place (no unique id): dead-lettered by the mapper.
    const { send } = await orgWithUseCase(stack, 'pipeline', {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          fields: [{ attribute: 'customer_number', field: 'customerId' }],
        },
      ],
    });
    await send({ name: 'no customer id' });
    const after = await eventually(
      async () => {
        await new Promise((r) => setTimeout(r, 1_100)); // the figures are measured at most once a second
        const res = await api.request<Pipeline>('GET', '/v2/hub/pipeline');
        return res.body.dead_letters.retained > before.body.dead_letters.retained ? res.body : undefined;
      },
      30_000,
      'the dead letter counted',
    );
    expect(Date.parse(after.measured_at)).toBeGreaterThan(Date.parse(before.body.measured_at));
  }, 60_000);
});
