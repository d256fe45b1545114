/**
 * The parked lane's decisions (ADR 0015, decisions 11 and 13), with fakes for the producer and the
 * configuration topic: a changed use case gets its parked events back and its quarantine record's
 * tombstone; an unchanged one keeps them parked and its record.
 */
import { ConfigView, ParkedHeaders, Topics } from '@hub/contracts';
import type { IncomingMessage, MessageProducer, OutgoingMessage, TopicMirror } from '@hub/kafka';
import { describe, expect, it } from 'vitest';
import { ParkedLane } from './parked.js';

const viewAt = (revision: number) => {
  const view = new ConfigView();
  view.apply(
    'i1',
    JSON.stringify({
      schema_version: 1,
      integration: { id: 'i1', orgId: 'org', name: 'i', created_at: 'x', updated_at: 'x', revision },
      use_cases: [
        {
          id: 'uc1',
          integrationId: 'i1',
          name: 'u',
          slug: 'u',
          type: 'inbound',
          enabled: true,
          created_at: 'x',
          updated_at: 'x',
          revision,
        },
      ],
    }),
  );
  return view;
};

const parked = (offset: number): IncomingMessage => ({
  topic: Topics.parkedEvents,
  partition: 0,
  offset: String(offset),
  key: 'i1:g',
  timestamp: '0',
  headers: { [ParkedHeaders.useCaseId]: 'uc1', [ParkedHeaders.revision]: '1' },
  value: Buffer.from(
    JSON.stringify({
      schema_version: 1,
      event_id: `evt_${offset}`,
      org_id: 'org',
      integration_id: 'i1',
      use_case_id: 'uc1',
      config_revision: 1,
      routed_by: 'slug',
      correlation_id: 'c',
      event_name: 'customer',
      format: 'json',
      payload: '{}',
      accepted_at: new Date().toISOString(),
    }),
  ),
});

const lane = (revision: number, sent: OutgoingMessage[]) =>
  new ParkedLane({
    view: viewAt(revision),
    mirror: { catchUp: async () => {} } as unknown as TopicMirror,
    producer: { send: async (m: OutgoingMessage[]) => void sent.push(...m) } as unknown as MessageProducer,
    catchUpTimeoutMs: 1_000,
  });

describe('the parked lane', () => {
  it("hands a changed use case's events back and releases its quarantine record once", async () => {
    const sent: OutgoingMessage[] = [];
    const resumer = lane(2, sent);
    expect(await resumer.handle(parked(1))).toBe('resumed');
    expect(await resumer.handle(parked(2))).toBe('resumed');
    expect(sent.map((m) => [m.topic, m.key, m.value === null ? null : 'event'])).toEqual([
      [Topics.quarantines, 'uc1@1', null],
      [Topics.inboundEvents, 'i1:g', 'event'],
      [Topics.inboundEvents, 'i1:g', 'event'],
    ]);
  });

  it('keeps the events of a use case still quarantined, and its record', async () => {
    const sent: OutgoingMessage[] = [];
    expect(await lane(1, sent).handle(parked(1))).toBe('kept');
    expect(sent.map((m) => m.topic)).toEqual([Topics.parkedEvents]);
  });
});
