import type { InboundEventMessage } from '@hub/contracts';
import { describe, expect, it } from 'vitest';
import { updateMessages } from './updates.js';

const event = {
  event_id: 'E1',
  org_id: 'acme',
  integration_id: 'I',
  use_case_id: 'U',
  correlation_id: 'C',
} as InboundEventMessage;

describe('updateMessages', () => {
  it('publishes every kind with deterministic ids and keys that keep per-target order', () => {
    const meter = { $entity_unique_ids: { meter_number: 'M1' } };
    const out = updateMessages(event, {
      entity_updates: [
        { entity_slug: 'meter', unique_identifiers: { meter_number: 'M1' }, attributes: {}, mode: 'upsert' },
      ],
      prune_scope_updates: [
        {
          entity_slug: 'meter',
          scope: { scope_mode: 'relations', schema: 'contract', unique_ids: { contract_number: 'K1' } },
          keep_unique_ids: [{ meter_number: 'M1' }],
          deletion_mode: 'purge',
        },
        {
          entity_slug: 'meter',
          scope: { scope_mode: 'query', query: { site: 'S9' } },
          keep_unique_ids: [],
          deletion_mode: 'delete',
        },
      ],
      meter_readings_updates: [
        { meter, attributes: { external_id: 'R1' }, mode: 'upsert', reading_matching: 'strict-date' },
      ],
      meter_readings_prune_scope_updates: [{ meter, keep_external_ids: ['R1'], source: 'ERP' }],
    });
    expect(out.map((m) => [m.key, m.value.update_id, m.value.kind])).toEqual([
      ['acme|contract|{"contract_number":"K1"}', 'E1:prune:0', 'prune_scope'],
      ['acme|meter|query:{"site":"S9"}', 'E1:prune:1', 'prune_scope'],
      ['acme|meter|{"meter_number":"M1"}', 'E1:0', undefined],
      ['acme|meter|{"meter_number":"M1"}', 'E1:reading:0', 'meter_reading'],
      ['acme|meter|{"meter_number":"M1"}', 'E1:reading-prune:0', 'meter_reading_prune_scope'],
    ]);
    expect(out[3]!.value).toMatchObject({ reading_matching: 'strict-date', meter });
    expect(out[4]!.value).toMatchObject({ keep_external_ids: ['R1'], source: 'ERP' });
  });
});
