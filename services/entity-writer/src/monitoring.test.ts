import type { EntityUpdateMessage } from '@hub/contracts';
import { describe, expect, it } from 'vitest';
import { entityAction, writerRecords } from './monitoring.js';

const update: EntityUpdateMessage = {
  schema_version: 1,
  update_id: 'evt_1:0',
  org_id: 'acme',
  integration_id: 'I',
  use_case_id: 'U',
  event_id: 'evt_1',
  correlation_id: 'C',
  event_name: 'customer',
  received_at: '2025-01-01T00:00:00.000Z',
  entity_schema: 'contact',
  mode: 'upsert',
  unique_ids: { id: '1' },
  attributes: { id: '1' },
};

describe('monitoring records of the writer', () => {
  it('say what happened to the entity', () => {
    expect(
      ['created', 'updated', 'deleted', 'purged', 'already_applied', 'nothing_to_delete'].map((o) =>
        entityAction(o as never),
      ),
    ).toEqual(['created', 'updated', 'deleted', 'deleted', 'unchanged', 'unchanged']);
  });

  it('one final record per update, plus one per relation target created; a redelivery writes the same ids', () => {
    const notes = { created: [{ schema: 'account', entityId: 'A1', uniqueIds: { n: '7' } }], entityId: 'E1' };
    const records = writerRecords(update, 'created', notes, '2025-01-01T00:00:01.000Z');
    expect(records.map((r) => [r.stage, r.level, r.final, r.detail?.entity_id])).toEqual([
      ['relation_target_created', 'success', false, 'A1'],
      ['entity_written', 'success', true, 'E1'],
    ]);
    expect(records[1]).toMatchObject({
      duration_ms: 1000,
      sync_type: 'entity',
      detail: { action: 'created' },
    });
    const again = writerRecords(update, 'already_applied', { created: [], entityId: 'E1' });
    expect(again[0]!.id).toBe(records[1]!.id);
    expect(again[0]!.detail).toMatchObject({ action: 'unchanged' });
  });

  it('meter readings and prune scopes', () => {
    const reading = writerRecords(
      {
        ...update,
        kind: 'meter_reading',
        update_id: 'evt_1:reading:0',
        meter: { $entity_unique_ids: { number: 'M1' } },
        mode: 'upsert',
      } as never,
      'updated',
      { created: [] },
    );
    expect(reading[0]).toMatchObject({
      stage: 'meter_reading_written',
      sync_type: 'meter_reading',
      detail: { action: 'updated', meter_unique_ids: { number: 'M1' } },
    });
    const prune = writerRecords(
      { ...update, kind: 'prune_scope', update_id: 'evt_1:prune:0' } as never,
      { in_scope: 3, kept: 1, deleted: 2, purged: 0 },
      { created: [] },
    );
    expect(prune[0]).toMatchObject({
      stage: 'prune_applied',
      message: 'removed 2 entities out of scope',
      detail: { in_scope: 3 },
    });
  });
});
