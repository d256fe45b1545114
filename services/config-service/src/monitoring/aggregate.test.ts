import { type MonitoringRecord, monitoringRecord } from '@hub/contracts';
import { describe, expect, it } from 'vitest';
import { checkSpan, inboundView } from '../routes/monitoring.js';
import {
  bucketStarts,
  chronological,
  rollUp,
  spanStatus,
  statsV1Inbound,
  statsV2,
  successRate,
  timeSeries,
  useCaseBucket,
} from './aggregate.js';

const rec = (over: Partial<Parameters<typeof monitoringRecord>[0]> = {}): MonitoringRecord =>
  monitoringRecord({
    org_id: 'o',
    integration_id: 'i',
    event_id: 'evt_1',
    correlation_id: 'c',
    use_case_id: 'uc',
    stage: 'accepted',
    level: 'success',
    final: false,
    created_at: '2025-01-01T00:07:00.000Z',
    ...over,
  });

describe('time-series buckets', () => {
  it('aligns buckets to the interval, includes the bucket of from and of to, empty ones too', () => {
    const starts = bucketStarts('2025-01-01T00:07:00Z', '2025-01-01T00:21:00Z', '5m');
    expect(starts).toEqual(
      ['00:05', '00:10', '00:15', '00:20'].map((t) => Date.parse(`2025-01-01T${t}:00Z`)),
    );
    expect(bucketStarts('2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', '1d')).toHaveLength(1);
  });

  it('allows 200 buckets and names the problem beyond', () => {
    expect(bucketStarts('2025-01-01T00:00:00Z', '2025-01-01T16:35:00Z', '5m')).toHaveLength(200);
    const over = bucketStarts('2025-01-01T00:00:00Z', '2025-01-01T16:40:00Z', '5m');
    expect(over).toBe(
      'from_date 2025-01-01T00:00:00Z to to_date 2025-01-01T16:40:00Z at interval 5m needs 201 buckets; the maximum is 200 (choose a larger interval or a shorter range)',
    );
    expect(bucketStarts('2025-01-02T00:00:00Z', '2025-01-01T00:00:00Z', '1h')).toContain('before');
  });

  it('counts records by level per bucket, with a breakdown by use case (unknown ids collapsed)', () => {
    const starts = bucketStarts('2025-01-01T00:00:00Z', '2025-01-01T00:10:00Z', '5m') as number[];
    const records = [
      rec({ level: 'success', created_at: '2025-01-01T00:01:00.000Z' }),
      rec({ level: 'error', created_at: '2025-01-01T00:04:59.999Z', use_case_id: 'gone' }),
      rec({ level: 'warning', created_at: '2025-01-01T00:10:00.000Z', use_case_id: '' }),
    ];
    const buckets = timeSeries(records, starts, '5m', 'use_case', new Set(['uc']));
    expect(
      buckets.map((b) => [b.timestamp, b.total_count, b.success_count, b.error_count, b.warning_count]),
    ).toEqual([
      ['2025-01-01T00:00:00.000Z', 2, 1, 1, 0],
      ['2025-01-01T00:05:00.000Z', 0, 0, 0, 0],
      ['2025-01-01T00:10:00.000Z', 1, 0, 0, 1],
    ]);
    expect(buckets[0]!.breakdown).toEqual([
      expect.objectContaining({ use_case_id: 'uc', total_count: 1 }),
      expect.objectContaining({ use_case_id: '__unknown__', total_count: 1, error_count: 1 }),
    ]);
    expect(buckets[2]!.breakdown).toEqual([expect.objectContaining({ use_case_id: '', warning_count: 1 })]);
    expect(useCaseBucket('', new Set())).toBe('');
  });
});

describe('stats', () => {
  it('v2: counts, success rate, last error and a breakdown', () => {
    const stats = statsV2(
      [
        rec({ level: 'success' }),
        rec({ level: 'error', code: 'X', created_at: '2025-01-02T00:00:00.000Z' }),
        rec({ level: 'error', code: 'X', created_at: '2025-01-01T00:00:00.000Z' }),
        rec({ level: 'skipped', code: 'DUPLICATE_EVENT' }),
      ],
      'code',
    );
    expect(stats).toMatchObject({
      total_events: 4,
      success_count: 1,
      error_count: 2,
      skipped_count: 1,
      warning_count: 0,
      success_rate: 25,
      last_error_at: '2025-01-02T00:00:00.000Z',
    });
    expect(stats.breakdown).toEqual([
      { code: '', total_events: 1, success_count: 1, error_count: 0, warning_count: 0, skipped_count: 0 },
      {
        code: 'DUPLICATE_EVENT',
        total_events: 1,
        success_count: 0,
        error_count: 0,
        warning_count: 0,
        skipped_count: 1,
      },
      { code: 'X', total_events: 2, success_count: 0, error_count: 2, warning_count: 0, skipped_count: 0 },
    ]);
    expect(statsV2([])).toMatchObject({ total_events: 0, success_rate: 0, last_error_at: null });
    expect(
      successRate({ success_count: 1, error_count: 2, warning_count: 0, skipped_count: 0, total_count: 3 }),
    ).toBe(33.33);
  });

  it('v1: distinct correlations and a breakdown by several fields', () => {
    const stats = statsV1Inbound(
      [
        rec({ level: 'success', correlation_id: 'a', sync_type: 'entity' }),
        rec({ level: 'error', correlation_id: 'a', category: 'validation', sync_type: 'entity' }),
        rec({ level: 'success', correlation_id: 'b', sync_type: 'meter_reading' }),
      ],
      ['sync_type', 'status'],
    );
    expect(stats).toMatchObject({ total_events: 3, total_correlations: 2, success_count: 2, error_count: 1 });
    expect(stats.breakdown).toEqual([
      expect.objectContaining({ sync_type: 'entity', status: 'success', total_events: 1 }),
      expect.objectContaining({ sync_type: 'entity', status: 'error', total_events: 1 }),
      expect.objectContaining({ sync_type: 'meter_reading', status: 'success', total_events: 1 }),
    ]);
  });
});

describe('traces', () => {
  it('rolls up error > warning > success > info', () => {
    expect(rollUp([])).toBe('info');
    expect(rollUp(['info', 'success'])).toBe('success');
    expect(rollUp(['success', 'warning', 'skipped'])).toBe('warning');
    expect(rollUp(['warning', 'error', 'success'])).toBe('error');
    expect(rollUp(['skipped'])).toBe('info');
    expect(spanStatus({ level: 'success', code: 'EXTERNAL_INFO' })).toBe('info');
  });

  it('orders by time, then pipeline stage, then event id', () => {
    const t = '2025-01-01T00:00:00.000Z';
    const later = '2025-01-01T00:00:00.001Z';
    const sorted = chronological([
      rec({ stage: 'entity_written', created_at: later, event_id: 'evt_1' }),
      rec({ stage: 'mapped', created_at: t, event_id: 'evt_1' }),
      rec({ stage: 'skipped', created_at: t, event_id: 'evt_2' }),
      rec({ stage: 'accepted', created_at: t, event_id: 'evt_1' }),
    ]);
    expect(sorted.map((r) => `${r.event_id}:${r.stage}`)).toEqual([
      'evt_1:accepted',
      'evt_2:skipped',
      'evt_1:mapped',
      'evt_1:entity_written',
    ]);
  });
});

describe('external spans', () => {
  const useCases = [{ id: 'u1', slug: 'customer', type: 'inbound' }];
  const span = {
    correlation_id: 'c',
    level: 'info',
    use_case_slug: 'customer',
    occurred_at: '2025-01-01T10:00:00+01:00',
    message: 'm',
  };

  it('accepts a complete span and normalises its time', () => {
    expect(checkSpan(span, useCases)).toMatchObject({
      level: 'info',
      occurredAt: '2025-01-01T09:00:00.000Z',
      useCase: { id: 'u1' },
      detail: {},
    });
  });

  it('names what is wrong with a span', () => {
    expect(checkSpan('x', useCases)).toBe('a span must be an object');
    expect(checkSpan({ ...span, correlation_id: '' }, useCases)).toContain('correlation_id');
    expect(checkSpan({ ...span, level: 'debug' }, useCases)).toContain('level: must be one of');
    expect(checkSpan({ ...span, use_case_slug: 'order' }, useCases)).toContain('"order"');
    expect(checkSpan({ ...span, occurred_at: 'yesterday' }, useCases)).toContain('occurred_at');
    expect(checkSpan({ ...span, message: undefined }, useCases)).toContain('message');
    expect(checkSpan({ ...span, detail: [1] }, useCases)).toContain('detail');
  });
});

describe('v1 view', () => {
  it('maps a final record onto InboundMonitoringEvent', () => {
    const view = inboundView(
      rec({
        stage: 'mapping_failed',
        level: 'error',
        code: 'UNIQUE_ID_MISSING',
        message: 'no id',
        category: 'validation',
        event_type: 'UPDATE',
        object_type: 'customer',
        received_at: '2025-01-01T00:06:59.500Z',
        final: true,
      }),
    );
    expect(view).toMatchObject({
      event_id: 'evt_1',
      status: 'error',
      error_code: 'UNIQUE_ID_MISSING',
      error_message: 'no id',
      error_category: 'validation',
      processing_duration_ms: 500,
      received_at: '2025-01-01T00:06:59.500Z',
      completed_at: '2025-01-01T00:07:00.000Z',
      sync_type: 'entity',
      event_type: 'UPDATE',
    });
  });
});
