import type { ProcessedEntityMessage } from '@hub/contracts';
import { describe, expect, it } from 'vitest';
import { APPLIED_KEPT, type EntityDoc, OUTBOX_KEPT_MS, withApplied, withOutbox } from './repository.js';

const now = Date.parse('2026-01-01T12:00:00.000Z');
const message = (changeId: string, ageMs: number) =>
  ({
    meta: { change_id: changeId, correlation_id: 'c', processed_at: new Date(now - ageMs).toISOString() },
  }) as ProcessedEntityMessage;
const doc = (outbox: ProcessedEntityMessage[] = []): EntityDoc => ({
  _id: 'e1',
  _org: 'o',
  _schema: 's',
  _created_at: '',
  _updated_at: '',
  _hub: { version: 1, applied: [], outbox },
});
const ids = (d: EntityDoc) => d._hub.outbox?.map((m) => m.meta.change_id);
const none = { has: () => false };

describe('the outbox an entity is written with', () => {
  it('keeps the recent earlier messages before this write’s, and drops the old ones', () => {
    const written = withOutbox(
      doc([message('old', OUTBOX_KEPT_MS + 1), message('recent', 1_000)]),
      [message('new', 0)],
      none,
      now,
    );
    expect(ids(written)).toEqual(['recent', 'new']);
  });

  it('drops the earlier messages this process knows it sent: in the steady state only this write’s remain', () => {
    const sent = new Set(['recent']);
    expect(
      ids(
        withOutbox(doc([message('recent', 1_000), message('unsent', 500)]), [message('new', 0)], sent, now),
      ),
    ).toEqual(['unsent', 'new']);
  });

  it('holds one copy of a change written again, and at most as many messages as applied changes', () => {
    expect(ids(withOutbox(doc([message('a', 0)]), [message('a', 0)], none, now))).toEqual(['a']);
    const many = Array.from({ length: APPLIED_KEPT + 5 }, (_, i) => message(`m${i}`, 0));
    const written = withOutbox(doc(many), [message('last', 0)], none, now);
    expect(written._hub.outbox).toHaveLength(APPLIED_KEPT);
    expect(ids(written)?.at(-1)).toBe('last');
  });

  it('the applied changes keep their last APPLIED_KEPT', () => {
    let d = doc();
    for (let i = 0; i < APPLIED_KEPT + 3; i++) d = withApplied(d, { id: `u${i}`, action: 'updated', at: '' });
    expect(d._hub.applied.map((c) => c.id)).toEqual(
      Array.from({ length: APPLIED_KEPT }, (_, i) => `u${i + 3}`),
    );
  });
});
