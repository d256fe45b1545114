import type { ProcessedEntityMessage } from '@hub/contracts';
import type { MessageProducer, OutgoingMessage } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { describe, expect, it } from 'vitest';
import { OutboxPublisher, PUBLISHED_CHECK_MARGIN_MS, publishedCheck } from './outbox.js';
import type { EntitiesRepository } from './repository.js';

const message = (changeId: string, processedAt = '2026-01-01T10:00:00.000Z') =>
  ({
    schema_version: 1,
    action: 'updated',
    org_id: 'org',
    entity_schema: 'contact',
    entity_id: 'e1',
    unique_ids: { id: '1' },
    entity: {},
    source: { event_id: 'ev', integration_id: 'i', use_case_id: 'u', update_id: changeId },
    meta: { correlation_id: 'c', change_id: changeId, processed_at: processedAt },
  }) as ProcessedEntityMessage;

function publisher(alreadyOnTopic: string[]) {
  const sent: OutgoingMessage[] = [];
  const checked: string[][] = [];
  const producer = {
    send: async (m: OutgoingMessage[]) => void sent.push(...m),
  } as unknown as MessageProducer;
  const outbox = new OutboxPublisher(
    {} as EntitiesRepository,
    producer,
    async (pending) => {
      checked.push(pending.map((m) => m.meta.change_id));
      return new Set(pending.map((m) => m.meta.change_id).filter((id) => alreadyOnTopic.includes(id)));
    },
    createLogger({ service: 'test', level: 'silent' }),
  );
  return { outbox, sent, checked };
}

describe('the outbox sends each change once', () => {
  it('sends the change it just wrote without looking at the topic', async () => {
    const { outbox, sent, checked } = publisher([]);
    await outbox.sender({}, 'u2')([message('u2')]);
    expect(sent.map((m) => (m.value as ProcessedEntityMessage).meta.change_id)).toEqual(['u2']);
    expect(checked).toEqual([]);
  });

  it('does not send again a left-over change that is already on the topic (a writer died before clearing it)', async () => {
    const { outbox, sent, checked } = publisher(['u1']);
    await outbox.sender({}, 'u2')([message('u1'), message('u2')]);
    expect(checked).toEqual([['u1']]);
    expect(sent.map((m) => (m.value as ProcessedEntityMessage).meta.change_id)).toEqual(['u2']);
  });

  it('sends a left-over change that never reached the topic (a writer died before publishing it)', async () => {
    const { outbox, sent } = publisher([]);
    await outbox.sender({})([message('u1')]);
    expect(sent.map((m) => (m.value as ProcessedEntityMessage).meta.change_id)).toEqual(['u1']);
  });
});

describe('publishedCheck', () => {
  it('scans from the oldest left-over message minus the margin and reports the change ids it finds', async () => {
    let since = 0;
    const check = publishedCheck(async (sinceMs, visit) => {
      since = sinceMs;
      visit(Buffer.from(JSON.stringify(message('u1'))));
      visit(Buffer.from(JSON.stringify(message('other'))));
      visit(Buffer.from('not json'));
      visit(null);
    });
    const found = await check([message('u1', '2026-01-01T10:00:05.000Z'), message('u3')]);
    expect([...found]).toEqual(['u1']);
    expect(since).toBe(Date.parse('2026-01-01T10:00:00.000Z') - PUBLISHED_CHECK_MARGIN_MS);
  });
});
