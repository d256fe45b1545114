import { randomUUID } from 'node:crypto';
import { apiClient, eventually, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';
import { contractErrors } from './contract.js';

const stack = resolveStack();
const url = (name: string, fallback: string) => process.env[name] ?? fallback;
const GATEWAY = url('INGEST_GATEWAY_URL', 'http://127.0.0.1:8081');
const MAPPER = url('MAPPER_URL', 'http://127.0.0.1:8083');
const WRITER = url('ENTITY_WRITER_URL', 'http://127.0.0.1:8084');

/** The value of one series in a service's Prometheus text, 0 when absent. */
async function metric(service: string, series: string): Promise<number> {
  const text = await (await fetch(`${service}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const SERIES = {
  success: [GATEWAY, 'hub_ingested_events_total{version="v2",status="success",service="ingest-gateway"}'],
  skipped: [GATEWAY, 'hub_ingested_events_total{version="v2",status="skipped",service="ingest-gateway"}'],
  ignored: [GATEWAY, 'hub_ingested_events_total{version="v2",status="ignored",service="ingest-gateway"}'],
  mapped: [MAPPER, 'hub_mapped_events_total{service="mapper"}'],
  deadLetters: [MAPPER, 'hub_dead_letters_total{code="UNIQUE_ID_MISSING",service="mapper"}'],
  created: [WRITER, 'hub_entity_writes_total{kind="entity",outcome="created",service="entity-writer"}'],
} as const;

async function readMetrics(): Promise<Record<keyof typeof SERIES, number>> {
  const out = {} as Record<keyof typeof SERIES, number>;
  for (const [name, [service, series]] of Object.entries(SERIES)) {
    out[name as keyof typeof SERIES] = await metric(service, series);
  }
  return out;
}

interface Span {
  id: string;
  event_id: string;
  correlation_id: string;
  trace_id?: string;
  stage: string;
  level: string;
  code: string;
  created_at: string;
  detail: Record<string, unknown> | null;
}

const customer = {
  name: 'customer',
  type: 'inbound',
  enabled: true,
  configuration: {
    entities: [
      {
        entity_schema: 'contact',
        unique_ids: ['customer_number'],
        fields: [{ attribute: 'customer_number', field: 'customerId' }],
      },
    ],
  },
};
// A second inbound use case, so an event named neither is ignored (no single-use-case fallback).
const order = {
  name: 'order',
  type: 'inbound',
  enabled: true,
  configuration: {
    entities: [
      { entity_schema: 'order', unique_ids: ['number'], fields: [{ attribute: 'number', field: 'n' }] },
    ],
  },
};
const event = (objectType: string, payload: unknown, deduplicationId?: string) => ({
  event_type: 'UPDATE',
  object_type: objectType,
  timestamp: '2024-01-15T10:35:00Z',
  format: 'json',
  payload: JSON.stringify(payload),
  ...(deduplicationId ? { deduplication_id: deduplicationId } : {}),
});

// e2e files run one at a time, so nothing else moves the counters during the test.
describe('monitoring tells the story of a request', () => {
  it('a good event, a duplicate, an unroutable event and a failing mapping: trace, stats, time series and metrics agree', async () => {
    const api = apiClient(stack.baseUrl, testToken(stack, uniqueName('story')));
    const integration = await api.request<{ id: string; use_cases: Array<{ id: string; slug: string }> }>(
      'POST',
      '/v2/integrations',
      { name: 'story', use_cases: [customer, order] },
    );
    expect(integration.status).toBe(201);
    const iid = integration.body.id;
    const customerUseCase = integration.body.use_cases.find((u) => u.slug === 'customer')!.id;
    const monitoring = `/v2/integrations/${iid}/monitoring`;
    const since = new Date(Date.now() - 60_000).toISOString();

    // An earlier event, so the story's duplicate has something to duplicate.
    const earlierCorrelation = randomUUID();
    await api.request('POST', '/v2/erp/updates/events', {
      integration_id: iid,
      correlation_id: earlierCorrelation,
      events: [event('customer', { customerId: 'S0' }, 'story-first')],
    });
    await eventually(
      async () => {
        const trace = await api.request<{ spans: Span[] }>(
          'GET',
          `${monitoring}/traces/${earlierCorrelation}`,
        );
        return trace.body.spans.some((s) => s.stage === 'entity_written') ? true : undefined;
      },
      60_000,
      'the earlier event written',
    );

    const before = await readMetrics();
    const correlationId = randomUUID();
    // The caller's W3C trace is linked, not continued, by the public edge (ADR 0015, decision 17): every
    // record of the request carries the trace the edge started, which its `traceresponse` names.
    const clientTraceId = randomUUID().replaceAll('-', '');
    const sent = await api.request<{ results: Array<{ event_id: string; status: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: iid,
        correlation_id: correlationId,
        events: [
          event('customer', { customerId: 'S1' }, 'story-good'),
          event('customer', { customerId: 'S0' }, 'story-first'),
          event('invoice', { number: 'I1' }),
          event('customer', { name: 'no customer id' }),
        ],
      },
      { traceparent: `00-${clientTraceId}-${'1'.repeat(16)}-01` },
    );
    expect(sent.status).toBe(200);
    const traceId = sent.headers.get('traceresponse')?.split('-')[1];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe(clientTraceId);
    expect(sent.body.results.map((r) => r.status)).toEqual(['success', 'skipped', 'ignored', 'success']);
    const [good, duplicate, unroutable, failing] = sent.body.results.map((r) => r.event_id) as [
      string,
      string,
      string,
      string,
    ];

    // The trace lists every record of the request, in order, with levels and codes.
    const trace = await eventually(
      async () => {
        const res = await api.request<{
          status: string;
          span_count: number;
          truncated: boolean;
          spans: Span[];
          started_at: string;
          ended_at: string;
          inbound_event: { event_id: string } | null;
        }>('GET', `${monitoring}/traces/${correlationId}`);
        expect(contractErrors('getMonitoringTraceByCorrelation', res.status, res.body)).toEqual([]);
        return res.body.span_count >= 7 ? res.body : undefined;
      },
      60_000,
      'seven spans in the trace',
    );
    const row = (s: Span) => [s.event_id, s.stage, s.level, s.code];
    expect(trace.spans.slice(0, 4).map(row)).toEqual([
      [good, 'accepted', 'success', ''],
      [duplicate, 'skipped', 'skipped', 'DUPLICATE_EVENT'],
      [unroutable, 'ignored', 'warning', 'NO_MATCHING_USE_CASE'],
      [failing, 'accepted', 'success', ''],
    ]);
    expect(trace.spans.slice(4).map(row)).toEqual(
      expect.arrayContaining([
        [good, 'mapped', 'success', ''],
        [failing, 'mapping_failed', 'error', 'UNIQUE_ID_MISSING'],
        [good, 'entity_written', 'success', ''],
      ]),
    );
    expect(trace.span_count).toBe(7);
    expect(trace.truncated).toBe(false);
    expect(trace.status).toBe('error');
    expect(trace.started_at).toBe(trace.spans[0]!.created_at);
    expect(trace.ended_at).toBe(trace.spans[6]!.created_at);
    expect(trace.inbound_event?.event_id).toBe(good);
    const times = trace.spans.map((s) => s.created_at);
    expect([...times].sort()).toEqual(times);
    const stagesOf = (id: string) => trace.spans.filter((s) => s.event_id === id).map((s) => s.stage);
    expect(stagesOf(good)).toEqual(['accepted', 'mapped', 'entity_written']);
    expect(stagesOf(failing)).toEqual(['accepted', 'mapping_failed']);
    const written = trace.spans.find((s) => s.stage === 'entity_written')!;
    expect(written.detail).toMatchObject({ action: 'created', entity_schema: 'contact' });
    expect(trace.spans.find((s) => s.stage === 'mapped')!.detail).toMatchObject({ fan_out: 1 });
    expect(trace.spans.every((s) => s.correlation_id === correlationId)).toBe(true);
    expect(trace.spans.map((s) => s.trace_id)).toEqual(trace.spans.map(() => traceId));

    // The associated events of one event: its own records, chronological, with the stored event.
    const associated = await api.request<{ monitoring_events: Span[]; inbound_event: { event_id: string } }>(
      'GET',
      `${monitoring}/events/${good}/associated`,
    );
    expect(associated.body.monitoring_events.map((s) => s.stage)).toEqual([
      'accepted',
      'mapped',
      'entity_written',
    ]);
    expect(associated.body.inbound_event.event_id).toBe(good);

    // v2 stats and time series count every record of the integration: the earlier event's three
    // successes and the story's seven.
    const stats = await api.request<Record<string, unknown>>('POST', `${monitoring}/stats`, {
      from_date: since,
      group_by: 'code',
    });
    expect(contractErrors('getMonitoringStatsV2', stats.status, stats.body)).toEqual([]);
    expect(stats.body).toMatchObject({
      total_events: 10,
      success_count: 7,
      error_count: 1,
      warning_count: 1,
      skipped_count: 1,
    });
    expect(stats.body.breakdown).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'DUPLICATE_EVENT', total_events: 1, skipped_count: 1 }),
        expect.objectContaining({ code: 'NO_MATCHING_USE_CASE', total_events: 1, warning_count: 1 }),
        expect.objectContaining({ code: 'UNIQUE_ID_MISSING', total_events: 1, error_count: 1 }),
        expect.objectContaining({ code: '', total_events: 7, success_count: 7 }),
      ]),
    );
    const incoming = await api.request<{ total_events: number; breakdown: unknown[] }>(
      'POST',
      `${monitoring}/stats`,
      { source: 'incoming', group_by: 'use_case_id' },
    );
    expect(incoming.body.total_events).toBe(5);
    expect(incoming.body.breakdown).toEqual(
      expect.arrayContaining([
        { use_case_id: customerUseCase, total_events: 4 },
        { use_case_id: '', total_events: 1 },
      ]),
    );
    const series = await api.request<{ buckets: Array<Record<string, number>> }>(
      'POST',
      `${monitoring}/time-series`,
      { from_date: since, interval: '5m' },
    );
    expect(contractErrors('getMonitoringTimeSeriesV2', series.status, series.body)).toEqual([]);
    const sum = (key: string) => series.body.buckets.reduce((n, b) => n + (b[key] ?? 0), 0);
    expect([sum('total_count'), sum('success_count'), sum('error_count'), sum('warning_count')]).toEqual([
      10, 7, 1, 1,
    ]);
    expect(sum('skipped_count')).toBe(1);

    // v1 lists the final records: one per outcome (the earlier entity, the story's entity, the
    // duplicate, the unroutable event and the failed mapping).
    const v1 = await api.request<{ data: Array<Record<string, unknown>>; has_more: boolean }>(
      'POST',
      `/v1/integrations/${iid}/monitoring/inbound-events`,
      { correlation_id: correlationId },
    );
    expect(contractErrors('queryInboundMonitoringEvents', v1.status, v1.body)).toEqual([]);
    expect(v1.body.data.map((r) => [r.event_id, r.status, r.error_code]).sort()).toEqual(
      [
        [good, 'success', null],
        [duplicate, 'skipped', 'DUPLICATE_EVENT'],
        [unroutable, 'warning', 'NO_MATCHING_USE_CASE'],
        [failing, 'error', 'UNIQUE_ID_MISSING'],
      ].sort(),
    );
    expect(v1.body.data.find((r) => r.event_id === failing)).toMatchObject({
      error_category: 'validation',
      object_type: 'customer',
      sync_type: 'entity',
    });
    const v1Stats = await api.request<{ inbound: Record<string, number> }>(
      'POST',
      `/v1/integrations/${iid}/monitoring/stats`,
      { from_date: since },
    );
    expect(contractErrors('getMonitoringStats', v1Stats.status, v1Stats.body)).toEqual([]);
    expect(v1Stats.body.inbound).toMatchObject({
      total_events: 5,
      total_correlations: 2,
      success_count: 2,
      error_count: 1,
      skipped_count: 1,
      warning_count: 1,
    });
    const v1Series = await api.request<{ buckets: Array<{ inbound: Record<string, number> }> }>(
      'POST',
      `/v1/integrations/${iid}/monitoring/timeseries`,
      { from_date: since, interval: '5m', direction: 'inbound' },
    );
    expect(contractErrors('getMonitoringTimeSeries', v1Series.status, v1Series.body)).toEqual([]);
    expect(v1Series.body.buckets.reduce((n, b) => n + (b.inbound.total_count ?? 0), 0)).toBe(5);

    // The Prometheus counters moved by the same amounts as the records say.
    const after = await eventually(
      async () => {
        const m = await readMetrics();
        return m.created - before.created >= 1 ? m : undefined;
      },
      30_000,
      'the writer counter',
    );
    const count = (stage: string) => trace.spans.filter((s) => s.stage === stage).length;
    expect(after.success - before.success).toBe(count('accepted'));
    expect(after.skipped - before.skipped).toBe(count('skipped'));
    expect(after.ignored - before.ignored).toBe(count('ignored'));
    expect(after.mapped - before.mapped).toBe(count('mapped') + count('mapping_failed'));
    expect(after.deadLetters - before.deadLetters).toBe(count('mapping_failed'));
    expect(after.created - before.created).toBe(count('entity_written'));
    expect([count('accepted'), count('skipped'), count('ignored'), count('mapped')]).toEqual([2, 1, 1, 1]);
  });

  it('pages v2 events newest first with a cursor, and rejects more than 200 buckets naming the limit', async () => {
    const api = apiClient(stack.baseUrl, testToken(stack, uniqueName('paging')));
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'paging',
      use_cases: [customer, order],
    });
    const iid = integration.body.id;
    await api.request('POST', '/v2/erp/updates/events', {
      integration_id: iid,
      events: [1, 2, 3, 4, 5].map((n) => event('invoice', { n })),
    });
    await eventually(
      async () => {
        const res = await api.request<{ data: Span[] }>(
          'POST',
          `/v2/integrations/${iid}/monitoring/events`,
          {},
        );
        return res.body.data.length >= 5 ? true : undefined;
      },
      30_000,
      'five records',
    );
    const seen: Span[] = [];
    let cursor: unknown;
    for (let page = 0; page < 5; page++) {
      const res = await api.request<{ data: Span[]; next_cursor: unknown; has_more: boolean }>(
        'POST',
        `/v2/integrations/${iid}/monitoring/events`,
        { limit: 2, ...(cursor ? { cursor } : {}) },
      );
      expect(res.status).toBe(200);
      expect(contractErrors('queryMonitoringEventsV2', res.status, res.body)).toEqual([]);
      seen.push(...res.body.data);
      if (!res.body.has_more) break;
      cursor = res.body.next_cursor;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((s) => s.id)).size).toBe(5);
    const keys = seen.map((s) => `${s.created_at}|${s.id}`);
    expect([...keys].sort().reverse()).toEqual(keys);

    const tooMany = await api.request<{ code: string; message: string }>(
      'POST',
      `/v2/integrations/${iid}/monitoring/time-series`,
      { from_date: '2025-01-01T00:00:00Z', to_date: '2025-01-02T00:00:00Z', interval: '5m' },
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toContain('289 buckets; the maximum is 200');
    const limit = await api.request('POST', `/v2/integrations/${iid}/monitoring/events`, { limit: 101 });
    expect(limit.status).toBe(400);
  });

  it('records a replay on the original event and accepts the new one', async () => {
    const api = apiClient(stack.baseUrl, testToken(stack, uniqueName('replay-mon')));
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'replay',
      use_cases: [customer],
    });
    const iid = integration.body.id;
    const correlationId = randomUUID();
    const sent = await api.request<{ results: Array<{ event_id: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: iid,
        correlation_id: correlationId,
        events: [event('customer', { customerId: 'R1' })],
      },
    );
    const original = sent.body.results[0]!.event_id;
    const replay = await api.request<{ results: Array<{ replay_event_id: string }> }>(
      'POST',
      `/v1/integrations/${iid}/events/replay`,
      { event_ids: [original] },
    );
    const replayId = replay.body.results[0]!.replay_event_id;
    const trace = await eventually(
      async () => {
        const res = await api.request<{ spans: Span[] }>(
          'GET',
          `/v2/integrations/${iid}/monitoring/traces/${correlationId}`,
        );
        return res.body.spans.some((s) => s.stage === 'replayed') ? res.body : undefined;
      },
      30_000,
      'the replayed record',
    );
    const replayed = trace.spans.find((s) => s.stage === 'replayed')!;
    expect(replayed).toMatchObject({ event_id: original, code: 'EVENT_REPLAYED', level: 'success' });
    expect(replayed.detail).toMatchObject({ replay_event_id: replayId });
    const associated = await eventually(
      async () => {
        const res = await api.request<{ monitoring_events: Span[] }>(
          'GET',
          `/v2/integrations/${iid}/monitoring/events/${replayId}/associated`,
        );
        const stages = res.body.monitoring_events.map((s) => s.stage);
        return stages.includes('entity_written') ? res.body : undefined;
      },
      30_000,
      'the replayed event written',
    );
    expect(associated.monitoring_events[0]).toMatchObject({
      stage: 'accepted',
      detail: { replay_of: original },
    });
  });

  it('ingests external spans per item, with server-assigned codes, and shows them in the trace', async () => {
    const org = uniqueName('external');
    const api = apiClient(stack.baseUrl, testToken(stack, org));
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'external',
      use_cases: [customer],
    });
    const iid = integration.body.id;
    const correlationId = randomUUID();
    const span = {
      correlation_id: correlationId,
      use_case_slug: 'customer',
      occurred_at: new Date(Date.now() - 1000).toISOString(),
      message: 'picked up from SAP',
    };
    const res = await api.request<{ accepted: number; rejected: number; results: unknown[] }>(
      'POST',
      `/v2/integrations/${iid}/monitoring/external-events`,
      {
        events: [
          { ...span, level: 'info', detail: { step: 'extract', $ref: 'kept as sent' } },
          { ...span, level: 'warning', code: 'SPOOFED' },
          { ...span, level: 'fatal' },
          { ...span, level: 'error', use_case_slug: 'nope' },
          { ...span, level: 'success', correlation_id: '' },
        ],
      },
    );
    expect(res.status).toBe(202);
    expect(contractErrors('ingestExternalMonitoringEvents', res.status, res.body)).toEqual([]);
    expect(res.body).toMatchObject({ accepted: 2, rejected: 3 });
    expect(res.body.results).toEqual([
      { index: 0, status: 'accepted' },
      { index: 1, status: 'accepted' },
      { index: 2, status: 'rejected', reason: expect.stringContaining('level') },
      { index: 3, status: 'rejected', reason: expect.stringContaining('use_case_slug') },
      { index: 4, status: 'rejected', reason: expect.stringContaining('correlation_id') },
    ]);
    const trace = await eventually(
      async () => {
        const t = await api.request<{ status: string; spans: Span[] }>(
          'GET',
          `/v2/integrations/${iid}/monitoring/traces/${correlationId}`,
        );
        return t.body.spans.length >= 2 ? t.body : undefined;
      },
      30_000,
      'the external spans',
    );
    expect(trace.spans.map((s) => s.code).sort()).toEqual(['EXTERNAL_INFO', 'EXTERNAL_WARNING']);
    expect(trace.status).toBe('warning');
    expect(trace.spans.find((s) => s.code === 'EXTERNAL_INFO')!.detail).toMatchObject({
      step: 'extract',
      $ref: 'kept as sent',
      external_level: 'info',
    });

    const viewer = apiClient(stack.baseUrl, testToken(stack, org, ['integration:view']));
    const forbidden = await viewer.request('POST', `/v2/integrations/${iid}/monitoring/external-events`, {
      events: [{ ...span, level: 'info' }],
    });
    expect(forbidden.status).toBe(403);
    expect(
      (await viewer.request('GET', `/v2/integrations/${iid}/monitoring/traces/${correlationId}`)).status,
    ).toBe(200);
  });
});
