import type { ProcessedEntityMessage } from '@hub/contracts';
import { createLogger } from '@hub/observability';
import { describe, expect, it } from 'vitest';
import { missingMessages, PUBLISHED_CHECK_MARGIN_MS, publishedCheck } from './outbox.js';
import type { EntityDoc } from './repository.js';
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
