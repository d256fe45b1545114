import { describe, expect, it } from 'vitest';
import { type Bundle, cloneBundle, cloneShifted } from './history.js';

const HOUR = 3_600_000;
const at = '2026-12-06T08:00:00.000Z';
const expires = new Date('2026-12-07T08:00:00.000Z');

const template = (): Bundle => ({
  event: {
    _id: 'evt_01OLD',
    org_id: 'org1',
    integration_id: 'int1',
    event_time: at,
    deduplication_id: 'run-7',
    correlation_id: 'corr-old',
    payload: '{"customerId":"C1"}',
    status: 'success',
    expires_at: expires,
  },
  dedupe: {
    _id: 'org1:int1:run-7',
    state: 'pending',
    claimed_at: new Date(at),
    expires_at: expires,
    event_id: 'evt_01OLD',
  },
  accepted: { _id: 'org1:int1:run-7', expires_at: expires },
  monitoring: [
    {
      _id: 'uuid-1',
      event_id: 'evt_01OLD',
      correlation_id: 'corr-old',
      created_at: at,
      stage: 'received',
      detail: '{}',
    },
    {
      _id: 'uuid-2',
      event_id: 'evt_01OLD',
      correlation_id: 'corr-old',
      created_at: at,
      stage: 'entity_written',
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

describe('cloneBundle', () => {
  it('makes another event with the same shape: new ids throughout, dated by its place in the span', () => {
    const t = template();
    const last = cloneBundle(t, 9, 10, 25 * HOUR, 'hist');
    const eventId = last.event._id as string;
    expect(eventId).toMatch(/^evt_/);
    expect(eventId).not.toBe('evt_01OLD');
    expect(Object.keys(last.event)).toEqual(Object.keys(t.event));
    expect(last.event.deduplication_id).toBe('hist-9');
    expect(last.event.correlation_id).not.toBe('corr-old');
    // The oldest of the span: 25 h before the template, its expiry moved with it (so it is past).
    expect(last.event.event_time).toBe('2026-12-05T07:00:00.000Z');
    expect(last.event.expires_at).toEqual(new Date('2026-12-06T07:00:00.000Z'));
    expect(last.dedupe).toMatchObject({ _id: 'org1:int1:hist-9', event_id: eventId, state: 'pending' });
    expect(last.accepted._id).toBe('org1:int1:hist-9');
    expect(last.monitoring).toHaveLength(2);
    for (const r of last.monitoring) {
      expect(r.event_id).toBe(eventId);
      expect(r.correlation_id).toBe(last.event.correlation_id);
      expect(r._id).not.toMatch(/^uuid-/);
    }
    expect(new Set(last.monitoring.map((r) => r._id)).size).toBe(2);
    // The newest is not moved; the template is left as it was.
    expect(cloneBundle(t, 0, 10, 25 * HOUR, 'hist').event.event_time).toBe(at);
    expect(t.event._id).toBe('evt_01OLD');
  });
});
