import { describe, expect, it } from 'vitest';
import { decodeEntityUpdatesMessage } from './entity-updates.js';

const provenance = {
  schema_version: 1,
  update_id: 'E1:0',
  org_id: 'o',
  integration_id: 'i',
  use_case_id: 'u',
  event_id: 'E1',
  correlation_id: 'c',
};

describe('decodeEntityUpdatesMessage', () => {
  it('keeps decoding entity updates written before kinds existed', () => {
    const legacy = {
      ...provenance,
      entity_schema: 'contact',
      mode: 'upsert',
      unique_ids: { customer_number: 'C1' },
      attributes: { customer_number: 'C1' },
    };
    expect(decodeEntityUpdatesMessage(JSON.stringify(legacy))).toEqual(legacy);
  });

  it('decodes a meter reading and names the field that is wrong in a bad one', () => {
    const reading = {
      ...provenance,
      kind: 'meter_reading',
      meter: { $entity_unique_ids: { meter_number: 'M1' } },
      attributes: { external_id: 'R1', value: 1 },
      mode: 'upsert',
    };
    expect(decodeEntityUpdatesMessage(JSON.stringify(reading))).toEqual(reading);
    expect(() => decodeEntityUpdatesMessage(JSON.stringify({ ...reading, mode: 'purge' }))).toThrow(
      /erp\.entity\.updates.*\/mode/,
    );
  });

  it('rejects an unknown kind, listing the known ones', () => {
    expect(() => decodeEntityUpdatesMessage(JSON.stringify({ ...provenance, kind: 'x' }))).toThrow(
      '/kind must be one of entity, prune_scope, meter_reading, meter_reading_prune_scope (got "x")',
    );
  });

  it('says what is wrong with a value that is not JSON, or none, as every consumer does', () => {
    expect(() => decodeEntityUpdatesMessage('{"kind": ')).toThrow(/erp\.entity\.updates.*not JSON/);
    expect(() => decodeEntityUpdatesMessage(null)).toThrow(/erp\.entity\.updates.*empty message value/);
    // Valid JSON that is no object is checked against the entity update's schema.
    expect(() => decodeEntityUpdatesMessage('null')).toThrow(/erp\.entity\.updates/);
  });
});
