/**
 * Fair scheduling inside one chunk (ADR 0015, decision 10), with the real mapping sandbox: events of
 * different keys are mapped at once, so one organisation's slow events do not hold another's behind them,
 * and events of one key keep their order. Fakes only for the producer and the configuration topic.
 */
import { ConfigView, Topics } from '@hub/contracts';
import type { IncomingMessage, MessageProducer, OutgoingMessage, TopicMirror } from '@hub/kafka';
import { MappingSandbox } from '@hub/mapping';
import { createLogger } from '@hub/observability';
import { afterAll, describe, expect, it } from 'vitest';
import { OrgGate, Quarantine } from './fairness.js';
import { EventProcessor } from './processor.js';

const configuration = (note: string) => ({
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'id' },
        { attribute: 'note', jsonataExpression: note },
      ],
    },
  ],
});
const view = new ConfigView();
for (const [org, note] of [
  ['slow-org', '$match(text, /(a+)+$/)'],
  ['quick-org', '$uppercase(text)'],
] as const) {
  view.apply(
    `i-${org}`,
    JSON.stringify({
      schema_version: 1,
      integration: { id: `i-${org}`, orgId: org, name: org, created_at: 'x', updated_at: 'x', revision: 1 },
      use_cases: [
        {
          id: `u-${org}`,
          integrationId: `i-${org}`,
          name: 'u',
          slug: 'u',
          type: 'inbound',
          enabled: true,
          configuration: configuration(note),
          created_at: 'x',
          updated_at: 'x',
          revision: 1,
        },
      ],
    }),
  );
}

let offset = 0;
const message = (org: string, group: string, id: string, text: string): IncomingMessage => ({
  topic: Topics.inboundEvents,
  partition: 0,
  offset: String(offset++),
  key: `i-${org}:${group}`,
  headers: {},
  timestamp: '0',
  value: Buffer.from(
    JSON.stringify({
      schema_version: 1,
      event_id: `evt_${id}`,
      org_id: org,
      integration_id: `i-${org}`,
      use_case_id: `u-${org}`,
      config_revision: 1,
      routed_by: 'slug',
      correlation_id: `c-${id}`,
      event_name: 'customer',
      format: 'json',
      payload: JSON.stringify({ id, text }),
      accepted_at: new Date().toISOString(),
    }),
  ),
});

describe('a chunk of several organisations', () => {
  const sandbox = new MappingSandbox({
    limits: { timeoutMs: 100, maxDepth: 500 },
    deadlineMs: 1_000,
    memoryMb: 64,
    workers: 2,
  });
  afterAll(() => sandbox.close());

  it("sends a quick organisation's events before a slow one's are done, one key's events in order", async () => {
    const sends: string[][] = [];
    const producer = {
      send: async (messages: OutgoingMessage[]) => {
        sends.push(
          messages
            .filter((m) => m.topic === Topics.entityUpdates)
            .map(
              (m) => (m.value as { unique_ids?: Record<string, string> }).unique_ids?.customer_number ?? '?',
            ),
        );
      },
    } as unknown as MessageProducer;
    const processor = new EventProcessor({
      view,
      mirror: { catchUp: async () => {} } as unknown as TopicMirror,
      producer,
      logger: createLogger({ service: 'test', level: 'silent' }),
      sandbox,
      catchUpTimeoutMs: 1_000,
      gate: new OrgGate(2),
      quarantine: new Quarantine({ after: 100, windowMs: 60_000 }),
    });
    const slow = `${'a'.repeat(40)}!`;
    // The slow organisation's events come first in the chunk; the quick one's are behind them, two on one key.
    const chunk = [
      message('slow-org', 's1', 'S1', slow),
      message('slow-org', 's2', 'S2', slow),
      message('slow-org', 's3', 'S3', slow),
      message('slow-org', 's4', 'S4', slow),
      message('quick-org', 'q', 'Q1', 'first'),
      message('quick-org', 'q', 'Q2', 'second'),
    ];
    const result = await processor.handleBatch(chunk, () => []);
    expect(result.codes).toEqual([
      'MAPPING_BUDGET_EXCEEDED',
      'MAPPING_BUDGET_EXCEEDED',
      'MAPPING_BUDGET_EXCEEDED',
      'MAPPING_BUDGET_EXCEEDED',
    ]);
    // The quick organisation's updates went out in an earlier send than the end of the chunk, in order.
    const flat = sends.flat();
    expect(flat).toEqual(['Q1', 'Q2']);
    expect(sends.length).toBeGreaterThan(1);
    expect(sends.findIndex((s) => s.includes('Q1'))).toBeLessThan(sends.length - 1);
  }, 30_000);
});
