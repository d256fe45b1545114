import type { InboundEventMessage } from '@hub/contracts';
import { describe, expect, it } from 'vitest';
import { mappingRecords } from './processor.js';

const event = {
  event_id: 'evt_1',
  org_id: 'acme',
  integration_id: 'I',
  use_case_id: 'U',
  correlation_id: 'C',
  event_type: 'UPDATE',
  event_name: 'customer',
  routed_by: 'slug',
  accepted_at: '2025-01-01T00:00:00.000Z',
} as InboundEventMessage;
const none = {
  entity_updates: [],
  prune_scope_updates: [],
  meter_readings_updates: [],
  meter_readings_prune_scope_updates: [],
  warnings: [],
  failures: [],
};
const update = {
  entity_slug: 'contact',
  unique_identifiers: { id: '1' },
  attributes: { id: '1' },
  mode: 'upsert' as const,
};
const now = '2025-01-01T00:00:00.250Z';

describe('monitoring records of a mapped event', () => {
  it('a mapped record with the fan-out and the time since receipt', () => {
    const [mapped, ...rest] = mappingRecords(event, { ...none, entity_updates: [update, update] }, now);
    expect(rest).toEqual([]);
    expect(mapped).toMatchObject({
      stage: 'mapped',
      level: 'success',
      code: '',
      final: false,
      duration_ms: 250,
      object_type: 'customer',
      use_case_type: 'inbound',
      detail: { fan_out: 2, entity_updates: 2, failures: 0, routed_by: 'slug' },
    });
  });

  it('one final error per failed update, with its code; no mapped record when nothing mapped', () => {
    const failure = {
      code: 'UNIQUE_ID_MISSING' as const,
      entity_schema: 'contact',
      entity_index: 0,
      section: 'entities' as const,
      message: 'no id',
    };
    const records = mappingRecords(
      event,
      { ...none, failures: [failure, { ...failure, entity_index: 1 }] },
      now,
    );
    expect(records.map((r) => [r.stage, r.level, r.code, r.category, r.final])).toEqual([
      ['mapping_failed', 'error', 'UNIQUE_ID_MISSING', 'validation', true],
      ['mapping_failed', 'error', 'UNIQUE_ID_MISSING', 'validation', true],
    ]);
    expect(records[0]!.id).not.toBe(records[1]!.id);
    expect(mappingRecords(event, { ...none, failures: [failure] }, now)[0]!.id).toBe(records[0]!.id);
  });

  it('a dropped update names its path, attribute and reason; warnings make the mapped record a warning that lists them (issue 20)', () => {
    const failure = {
      code: 'UNIQUE_ID_MISSING' as const,
      entity_schema: 'contact',
      entity_index: 1,
      element_index: 2,
      section: 'entities' as const,
      attribute: 'customer_number',
      message: 'unique id "customer_number" of contact has no value in this event',
    };
    const warning = {
      entity_schema: 'meter_reading',
      field: 'reason',
      message:
        'meter_readings[0].fields[4] (reading 0): reason "monthly_billing" is not one of the documented values',
    };
    const [mapped, failed] = mappingRecords(
      event,
      { ...none, entity_updates: [update], warnings: [warning], failures: [failure] },
      now,
    );
    expect(mapped).toMatchObject({
      stage: 'mapped',
      level: 'warning',
      code: 'MAPPING_WARNINGS',
      message: `mapped to 1 update; 1 warning: ${warning.message}`,
      detail: { warnings: 1, warning_list: [warning] },
    });
    expect(failed).toMatchObject({
      stage: 'mapping_failed',
      message:
        'contact (entities[1], element 2): unique id "customer_number" of contact has no value in this event',
      detail: { path: 'entities[1]', element_index: 2, attribute: 'customer_number' },
    });
    // Every update failed: the warnings go with the first failure.
    const [only] = mappingRecords(event, { ...none, warnings: [warning], failures: [failure] }, now);
    expect(only?.detail).toMatchObject({ warning_list: [warning] });
  });

  it('an event that maps to nothing is a final warning', () => {
    expect(mappingRecords(event, none, now)).toEqual([
      expect.objectContaining({ stage: 'mapped', level: 'warning', code: 'NOTHING_MAPPED', final: true }),
    ]);
  });
});
