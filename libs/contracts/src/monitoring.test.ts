import { createHash } from 'node:crypto';
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

  // The sink keeps a record once by its id (ADR 6, ADR 19): a record produced again by a newer version must
  // carry the id the older one gave it. These were computed by the first implementation (below).
  it('are the ids earlier versions computed', () => {
    expect([
      monitoringRecordId('org', 'evt_1', 'entity_written', 'evt_1:0'),
      monitoringRecordId('org-1', 'evt_01JBX7Q9ZK3M4N5P6R7S8T9V0W', 'accepted'),
      nameUuid(''),
      nameUuid('é€😀'),
      nameUuid('x'.repeat(2000)),
    ]).toEqual([
      'c8791f1e-1d72-5ba3-a5c6-01268dd2718a',
      '35b4cbd6-1bbc-555d-8ec2-8aa63d315077',
      '443736e0-f5b2-53c9-ad03-f261da7331df',
      '00290d20-d25b-58dc-90df-ee3bef74be59',
      'c9548a82-ba77-5c77-a7cc-751e43ce461a',
    ]);
    // The first implementation, for any name: every length to 1,200 units (past the scratch buffer's
    // first size in UTF-8), non-ASCII text, and lone surrogates (written as U+FFFD by both).
    const NAMESPACE = Buffer.from('6f1d3c1e4b7a4e0f9a51c6b0d2e8f7a3', 'hex');
    const first = (name: string) => {
      const b = Buffer.from(
        createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest().subarray(0, 16),
      );
      b[6] = (b[6]! & 0x0f) | 0x50;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    };
    const units = ['a', 'Z', '0', '\u0000', '|', 'é', '€', '😀', '\ud800', '\udfff'];
    let seed = 22;
    const next = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const differ: string[] = [];
    for (let length = 0; length <= 1_200; length += length < 100 ? 1 : 37) {
      for (let n = 0; n < 5; n++) {
        const name = Array.from({ length }, () => units[Math.floor(next() * units.length)]).join('');
        if (nameUuid(name) !== first(name)) differ.push(name);
      }
    }
    expect(differ).toEqual([]);
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
