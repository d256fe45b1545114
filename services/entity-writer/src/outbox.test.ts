import type { ProcessedEntityMessage } from '@hub/contracts';
import { createLogger } from '@hub/observability';
import { describe, expect, it } from 'vitest';
import { CallOrigins, missingMessages, PUBLISHED_CHECK_MARGIN_MS, publishedCheck } from './outbox.js';
import { type EntityDoc, outboxMessage, outboxOf, withOutbox } from './repository.js';
import type { Unconfirmed } from './writer.js';

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

const source = {
  update_id: 'u1',
  org_id: 'org',
  integration_id: 'i',
  use_case_id: 'uc',
  event_id: 'ev',
  correlation_id: 'corr',
};

const unconfirmed = (id: string, action: 'created' | 'updated' = 'updated'): Unconfirmed => ({
  change: { id, action, at: '2026-01-01T10:00:00.000Z' },
  source,
  schema: 'contact',
  uniqueIds: { id: '1' },
  entityId: 'e1',
});

const entity = {
  _id: 'e1',
  _org: 'org',
  _schema: 'contact',
  _created_at: 't0',
  _updated_at: 't1',
  id: '1',
  name: 'now',
  _hub: { version: 3, applied: [] },
} as EntityDoc;

const logger = createLogger({ service: 'test', level: 'silent' });

describe('changes an earlier delivery wrote are sent once', () => {
  it('makes a message only for the changes not on the topic, with the entity as it is now', async () => {
    const checked: string[][] = [];
    const messages = await missingMessages(
      [unconfirmed('u1', 'created'), unconfirmed('u2')],
      new Map([['e1', entity]]),
      async (changes) => {
        checked.push(changes.map((c) => c.id));
        return new Set(['u2']);
      },
      logger,
    );
    expect(checked).toEqual([['u1', 'u2']]);
    expect(messages.map((m) => [m.meta.change_id, m.action, m.entity])).toEqual([
      [
        'u1',
        'created',
        {
          _id: 'e1',
          _org: 'org',
          _schema: 'contact',
          _created_at: 't0',
          _updated_at: 't1',
          id: '1',
          name: 'now',
        },
      ],
    ]);
  });

  it('makes one message per change, and none for a change this call sends anyway', async () => {
    const checked: string[][] = [];
    const messages = await missingMessages(
      // u1 twice (its update redelivered next to its first copy), u3 applied by an earlier run of the call.
      [unconfirmed('u1'), unconfirmed('u2'), unconfirmed('u1'), unconfirmed('u3')],
      new Map([['e1', entity]]),
      async (changes) => {
        checked.push(changes.map((c) => c.id));
        return new Set();
      },
      logger,
      new Set(['u3']),
    );
    expect(checked).toEqual([['u1', 'u2']]);
    expect(messages.map((m) => m.meta.change_id)).toEqual(['u1', 'u2']);
  });

  it('looks at the topic only when something is unconfirmed', async () => {
    let looked = false;
    const messages = await missingMessages(
      [],
      new Map(),
      async () => {
        looked = true;
        return new Set();
      },
      logger,
    );
    expect(messages).toEqual([]);
    expect(looked).toBe(false);
  });
});

describe('publishedCheck', () => {
  it('scans from the oldest change minus the margin and reports the change ids it finds', async () => {
    let since = 0;
    let scannedKeys: string[] = [];
    const check = publishedCheck(async (sinceMs, keys, visit) => {
      since = sinceMs;
      scannedKeys = keys;
      visit(Buffer.from(JSON.stringify(message('u1'))));
      visit(Buffer.from(JSON.stringify(message('other'))));
      visit(Buffer.from('not json'));
      visit(null);
    });
    const found = await check([
      { id: 'u1', at: '2026-01-01T10:00:05.000Z', entityId: 'e1' },
      { id: 'u3', at: '2026-01-01T10:00:00.000Z', entityId: 'e2' },
      { id: 'u4', at: '2026-01-01T10:00:01.000Z', entityId: 'e1' },
    ]);
    expect([...found]).toEqual(['u1']);
    expect(scannedKeys).toEqual(['e1', 'e2']);
    expect(since).toBe(Date.parse('2026-01-01T10:00:00.000Z') - PUBLISHED_CHECK_MARGIN_MS);
  });
});

describe('what one call knows from where its updates were read (CallOrigins)', () => {
  const read = (partition: number, offset: number, topic = 'erp.entity.updates') => ({
    topic,
    partition,
    offset: String(offset),
  });
  const origins = new CallOrigins([read(0, 12), read(0, 10), read(0, 11), read(3, 7)]);

  it('counts as settled only an update before the first offset of its partition in this call', () => {
    expect(origins.settled('erp.entity.updates/0/9')).toBe(true);
    // At or after the call's first offset: maybe a redelivery of what this call applies again.
    expect(origins.settled('erp.entity.updates/0/10')).toBe(false);
    expect(origins.settled('erp.entity.updates/0/11')).toBe(false);
    expect(origins.settled('erp.entity.updates/3/6')).toBe(true);
    // Another partition or topic says nothing about this call's order, nor does what is not an offset.
    expect(origins.settled('erp.entity.updates/1/0')).toBe(false);
    expect(origins.settled('another.topic/0/1')).toBe(false);
    expect(origins.settled('erp.entity.updates/0/x')).toBe(false);
    // Offsets beyond 2^53 compare exactly.
    const far = new CallOrigins([{ ...read(0, 0), offset: '9007199254740993' }]);
    expect(far.settled('erp.entity.updates/0/9007199254740992')).toBe(true);
    expect(far.settled('erp.entity.updates/0/9007199254740993')).toBe(false);
  });

  it('lets a write after a restart drop what is behind it, store where its messages came from, and send them without it', () => {
    const now = Date.parse('2026-01-01T10:00:01.000Z');
    const doc = (outbox: string[]): EntityDoc => ({
      _id: 'e1',
      _org: 'org',
      _schema: 'contact',
      _created_at: '',
      _updated_at: '',
      _hub: { version: 1, applied: [], outbox },
    });
    const stored = (id: string, origin?: string) => JSON.stringify({ ...message(id), _origin: origin });
    const call = new CallOrigins([read(0, 20)]);
    call.read('new', read(0, 20));
    // This process sent nothing yet (it restarted): `has` knows nothing.
    const written = withOutbox(
      doc([
        stored('behind', 'erp.entity.updates/0/19'),
        stored('redelivered', 'erp.entity.updates/0/20'),
        stored('other partition', 'erp.entity.updates/2/5'),
        stored('no origin'),
      ]),
      [message('new')],
      call.with(new Set<string>()),
      undefined,
      now,
    );
    const kept = outboxOf(written);
    expect(kept.map((m) => m.meta.change_id)).toEqual(['redelivered', 'other partition', 'no origin', 'new']);
    expect(kept.at(-1)?._origin).toBe('erp.entity.updates/0/20');
    // What a redelivery sends from the outbox is the message as the topic's contract has it.
    expect(outboxMessage(written, 'new')).not.toHaveProperty('_origin');
    expect(outboxMessage(written, 'redelivered')).not.toHaveProperty('_origin');
  });
});
