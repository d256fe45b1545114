import { describe, expect, it } from 'vitest';
import { type Bundle, cloneBundle, cloneShifted, historyBuckets } from './history.js';

const HOUR = 3_600_000;
const at = '2026-12-06T08:00:00.000Z';
const expires = new Date('2026-12-07T08:00:00.000Z');

const event = (id: string, dedupe: string) => ({
  event_id: id,
  deduplication_id: dedupe,
  correlation_id: `corr-${id}`,
  payload: `{"customerId":"${id}"}`,
  status: 'success',
});
const template = (): Bundle => ({
  request: {
    _id: 'req-old',
    org_id: 'org1',
    integration_id: 'int1',
    event_time: at,
    expires_at: expires,
    event_ids: ['evt_01OLD', 'evt_02OLD'],
    correlation_ids: ['corr-evt_01OLD', 'corr-evt_02OLD'],
    event_types: [],
    object_types: ['customer'],
    use_case_ids: ['uc'],
    events: [event('evt_01OLD', 'run-7'), event('evt_02OLD', 'run-8')],
  },
  accepted: { _id: 'req-old', expires_at: expires },
  dedupe: ['evt_01OLD', 'evt_02OLD'].map((id, i) => ({
    _id: `org1:int1:run-${7 + i}`,
    state: 'pending',
    owner: 'req-old',
    claimed_at: new Date(at),
    expires_at: expires,
    event_id: id,
  })),
  monitoring: [
    {
      id: 'uuid-1',
      org_id: 'org1',
      integration_id: 'int1',
      o: 1,
      event_id: 'evt_01OLD',
      message: 'm',
      correlation_id: 'corr-evt_01OLD',
      created_at: at,
      stage: 'received',
      detail: '{}',
    },
    {
      id: 'uuid-2',
      org_id: 'org1',
      integration_id: 'int1',
      o: 2,
      event_id: 'evt_01OLD',
      message: 'm',
      correlation_id: 'corr-evt_01OLD',
      created_at: at,
      stage: 'entity_written',
      detail: null,
    },
    {
      id: 'uuid-3',
      org_id: 'org1',
      integration_id: 'int1',
      o: 3,
      event_id: 'evt_02OLD',
      message: 'm',
      correlation_id: 'corr-evt_02OLD',
      created_at: at,
      stage: 'received',
      detail: null,
    },
  ],
});

describe('cloneShifted', () => {
  it('swaps ids inside strings and moves Dates and ISO strings into the past, keeping everything else', () => {
    const out = cloneShifted(
      {
        id: 'a:OLD:b',
        when: new Date(at),
        iso: at,
        notIso: '2026-12-06',
        n: 3,
        list: ['OLD', 1],
        nested: { x: 'OLD' },
      },
      [['OLD', 'NEW']],
      HOUR,
    );
    expect(out).toEqual({
      id: 'a:NEW:b',
      when: new Date('2026-12-06T07:00:00.000Z'),
      iso: '2026-12-06T07:00:00.000Z',
      notIso: '2026-12-06',
      n: 3,
      list: ['NEW', 1],
      nested: { x: 'NEW' },
    });
  });
});

describe('historyBuckets', () => {
  it('stores the records of a batch of requests in buckets of up to 500, as the sink does (ADR 19)', () => {
    const t = template();
    const batch = Array.from({ length: 200 }, (_, i) => cloneBundle(t, i, 200, 25 * HOUR, 'hist'));
    const buckets = historyBuckets(batch, 'tag');
    expect(buckets.map((b) => (JSON.parse(b.records as string) as unknown[]).length)).toEqual([500, 100]);
    expect(buckets.map((b) => b._id)).toEqual(['hist:tag:0', 'hist:tag:1']);
    const first = buckets[0]!;
    const records = JSON.parse(first.records as string) as Array<Record<string, string>>;
    expect(first.org_ids).toEqual(['org1']);
    expect(first.integration_ids).toEqual(['int1']);
    expect(first.event_ids).toEqual([...new Set(records.map((r) => r.event_id))]);
    expect(first.min_created_at).toBe(records.map((r) => r.created_at).sort()[0]);
    expect(first.max_created_at).toBe(
      records
        .map((r) => r.created_at)
        .sort()
        .pop(),
    );
    expect(first.expires_at).toEqual(batch[0]!.request.expires_at);
  });
});

describe('cloneBundle', () => {
  it('makes another request with the same shape: new ids throughout, dated by its place in the span', () => {
    const t = template();
    const last = cloneBundle(t, 9, 10, 25 * HOUR, 'hist');
    const requestId = last.request._id as string;
    expect(requestId).not.toBe('req-old');
    expect(requestId).toMatch(/^[0-9A-HJKMNP-TV-Z]{22}$/);
    expect(Object.keys(last.request).sort()).toEqual(Object.keys(t.request).sort());
    const events = last.request.events as Array<Record<string, unknown>>;
    const ids = events.map((e) => e.event_id as string);
    expect(ids).toHaveLength(2);
    // Numbered under the request's id, as libs/event-store's requestEventIds numbers them.
    expect(ids).toEqual([`evt_${requestId}0000`, `evt_${requestId}0001`]);
    expect(last.request.event_ids).toEqual(ids);
    expect(events.map((e) => e.deduplication_id)).toEqual(['hist-9-0', 'hist-9-1']);
    expect(last.request.correlation_ids).toEqual(events.map((e) => e.correlation_id));
    expect(events[0]!.correlation_id).not.toBe('corr-evt_01OLD');
    expect(events[0]!.payload).toBe(`{"customerId":"${ids[0]}"}`);
    // The oldest of the span: 25 h before the template, its expiry moved with it (so it is past).
    expect(last.request.event_time).toBe('2026-12-05T07:00:00.000Z');
    expect(last.request.expires_at).toEqual(new Date('2026-12-06T07:00:00.000Z'));
    expect(last.dedupe.map((c) => [c._id, c.event_id, c.owner, c.state])).toEqual([
      ['org1:int1:hist-9-0', ids[0], requestId, 'pending'],
      ['org1:int1:hist-9-1', ids[1], requestId, 'pending'],
    ]);
    expect(last.accepted._id).toBe(requestId);
    expect(last.monitoring.map((r) => r.event_id)).toEqual([ids[0], ids[0], ids[1]]);
    for (const r of last.monitoring) expect(r.id).not.toMatch(/^uuid-/);
    expect(last.monitoring[0]!.correlation_id).toBe(events[0]!.correlation_id);
    expect(new Set(last.monitoring.map((r) => r.id)).size).toBe(3);
    // The newest is not moved; the template is left as it was.
    expect(cloneBundle(t, 0, 10, 25 * HOUR, 'hist').request.event_time).toBe(at);
    // Clones made within one millisecond are different requests.
    const requests = new Set(
      Array.from({ length: 50 }, (_, i) => cloneBundle(t, i, 50, HOUR, 'hist').request._id),
    );
    expect(requests.size).toBe(50);
    expect(t.request._id).toBe('req-old');
    expect((t.request.events as Array<{ event_id: string }>)[0]!.event_id).toBe('evt_01OLD');
  });
});
