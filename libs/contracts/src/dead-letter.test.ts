import { describe, expect, it } from 'vitest';
import { deadLetterMonitoringRecord, deadLetterRecord, MAX_ERROR_MESSAGE_CHARS } from './dead-letter.js';
import { MAX_RECORD_LIST_ITEMS, MAX_RECORD_TEXT_CHARS, monitoringRecord } from './monitoring.js';

const failed = (value: string) => ({
  topic: 'erp.entity.updates',
  partition: 2,
  offset: '41',
  key: 'org|contact|C1',
  value: Buffer.from(value),
  headers: { 'x-org-id': 'org-1', 'x-event-id': 'evt_1' },
});
const error = { code: 'RETRIES_EXHAUSTED', category: 'internal' as const, message: 'failed 10 times' };

describe('bounded dead letters and monitoring records (issue 19, item 4)', () => {
  it('writes a dead letter whole while it fits, and the pointer form past its limit', () => {
    const small = deadLetterRecord('entity-writer', failed('{"a":1}'), error, 10);
    expect(small.value.original.value).toBe('{"a":1}');
    expect(small.value.original).not.toHaveProperty('value_omitted');

    const value = JSON.stringify({ note: 'x'.repeat(2_000) });
    const pointer = deadLetterRecord('entity-writer', failed(value), error, 10, { maxBytes: 1_000 });
    expect(pointer.value.original).toMatchObject({
      topic: 'erp.entity.updates',
      partition: 2,
      offset: '41',
      key: 'org|contact|C1',
      value: null,
      value_omitted: { bytes: value.length, reason: expect.stringContaining('limit of 1000 bytes') },
    });
    expect(pointer.value.error).toEqual(error);
    expect(JSON.stringify(pointer).length).toBeLessThan(1_000);
  });

  it('writes the pointer form when told why (the broker refused the whole one)', () => {
    const form = { omitValue: 'the broker refused the whole dead letter (MESSAGE_TOO_LARGE)' };
    const pointer = deadLetterRecord('mapper', failed('{"a":1}'), error, 1, form);
    expect(pointer.value.original.value).toBeNull();
    expect(pointer.value.original.value_omitted?.reason).toContain('MESSAGE_TOO_LARGE');
    const record = deadLetterMonitoringRecord(
      'mapper',
      failed(JSON.stringify({ org_id: 'org-1', integration_id: 'int-1' })),
      error,
      1,
      form,
    );
    expect(record?.detail).toMatchObject({ original_value_omitted: form.omitValue });
  });

  it('cuts long error messages and record texts with a marker, and long lists', () => {
    const long = { ...error, message: `value ${'v'.repeat(10_000)}` };
    const dead = deadLetterRecord('mapper', failed('{}'), long, 1);
    expect(dead.value.error.message.length).toBeLessThan(MAX_ERROR_MESSAGE_CHARS + 100);
    expect(dead.value.error.message).toMatch(/… \[truncated: \d+ more characters\]$/);

    const record = monitoringRecord({
      org_id: 'o',
      integration_id: 'i',
      event_id: 'e',
      correlation_id: 'c',
      stage: 'mapping_failed',
      level: 'error',
      final: true,
      message: 'm'.repeat(50_000),
      detail: { warning_list: Array.from({ length: 500 }, () => ({ message: 'w'.repeat(5_000) })) },
    });
    expect(record.message.length).toBeLessThan(MAX_RECORD_TEXT_CHARS + 100);
    const list = (record.detail as { warning_list: unknown[] }).warning_list;
    expect(list).toHaveLength(MAX_RECORD_LIST_ITEMS + 1);
    expect(list.at(-1)).toBe(`… [truncated: ${500 - MAX_RECORD_LIST_ITEMS} more items]`);
    expect(JSON.stringify(record).length).toBeLessThan(200_000);
  });
});
