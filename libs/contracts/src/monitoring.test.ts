import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { deadLetterMonitoringRecord } from './dead-letter.js';
import {
  MonitoringRecord,
  monitoringCategory,
  monitoringMessage,
  monitoringRecord,
  monitoringRecordId,
  nameUuid,
} from './monitoring.js';

describe('monitoring record ids', () => {
  it('are version-5 UUIDs, the same for the same name and different otherwise', () => {
    const id = monitoringRecordId('org', 'evt_1', 'entity_written', 'evt_1:0');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(monitoringRecordId('org', 'evt_1', 'entity_written', 'evt_1:0')).toBe(id);
    expect(monitoringRecordId('org', 'evt_1', 'entity_written', 'evt_1:1')).not.toBe(id);
    expect(monitoringRecordId('other', 'evt_1', 'entity_written', 'evt_1:0')).not.toBe(id);
    expect(nameUuid('a')).not.toBe(nameUuid('b'));
  });
});

describe('monitoring records', () => {
  it('carry the use case type, the duration since receipt, and match their schema', () => {
    const record = monitoringRecord({
      org_id: 'o',
      integration_id: 'i',
      event_id: 'evt_1',
      correlation_id: 'c',
      use_case_id: 'u',
      stage: 'mapped',
      level: 'success',
      final: false,
      received_at: '2025-01-01T00:00:00.000Z',
      created_at: '2025-01-01T00:00:01.250Z',
    });
    expect(record).toMatchObject({
      use_case_type: 'inbound',
      duration_ms: 1250,
      code: '',
      message: '',
      detail: null,
    });
    expect(Value.Check(MonitoringRecord, record)).toBe(true);
    const { use_case_type: _t, ...input } = record;
    const general = monitoringRecord({ ...input, use_case_id: '', final: true, stage: 'ignored' });
    expect(general.use_case_type).toBe('');
    expect(monitoringMessage(record)).toMatchObject({
      topic: 'erp.monitoring.events',
      key: 'evt_1',
      headers: { 'x-correlation-id': 'c', 'x-event-id': 'evt_1', 'x-org-id': 'o' },
    });
  });

  it('map our error categories onto the reference taxonomy', () => {
    expect(monitoringCategory('configuration')).toBe('configuration');
    expect(monitoringCategory('internal')).toBe('system');
    for (const c of ['validation', 'mapping', 'lookup'] as const)
      expect(monitoringCategory(c)).toBe('validation');
  });

  it('of a dead letter name the event, the code and the category; none without an org', () => {
    const value = {
      org_id: 'o',
      integration_id: 'i',
      use_case_id: 'u',
      event_id: 'evt_9',
      correlation_id: 'c',
      update_id: 'evt_9:0',
      entity_schema: 'contact',
      event_name: 'customer',
      received_at: '2025-01-01T00:00:00.000Z',
    };
    const message = {
      topic: 'erp.entity.updates',
      partition: 1,
      offset: '7',
      key: 'k',
      value: Buffer.from(JSON.stringify(value)),
      headers: {},
    };
    const error = { code: 'AMBIGUOUS_LOOKUP', category: 'lookup' as const, message: 'two match' };
    const record = deadLetterMonitoringRecord('entity-writer', message, error, 1)!;
    expect(record).toMatchObject({
      stage: 'dead_lettered',
      level: 'error',
      code: 'AMBIGUOUS_LOOKUP',
      category: 'validation',
      event_id: 'evt_9',
      object_type: 'customer',
      final: true,
      detail: { service: 'entity-writer', update_id: 'evt_9:0', offset: '7' },
    });
    expect(deadLetterMonitoringRecord('entity-writer', message, error, 3)!.id).toBe(record.id);
    expect(
      deadLetterMonitoringRecord('mapper', { ...message, value: Buffer.from('nope') }, error, 1),
    ).toBeUndefined();
  });
});
