import type { ProcessedEntityMessage } from '@hub/contracts';
import { describe, expect, it } from 'vitest';
import {
  APPLIED_KEPT,
  appliedChange,
  appliedChanges,
  type EntityDoc,
  OUTBOX_KEPT_MS,
  outboxMessage,
  outboxOf,
  withApplied,
  withOutbox,
} from './repository.js';

const now = Date.parse('2026-01-01T12:00:00.000Z');
const message = (changeId: string, ageMs: number, entity: Record<string, unknown> = {}) =>
  ({
    action: 'updated',
    entity,
    meta: { change_id: changeId, correlation_id: 'c', processed_at: new Date(now - ageMs).toISOString() },
  }) as ProcessedEntityMessage;
const doc = (messages: ProcessedEntityMessage[] = []): EntityDoc => ({
  _id: 'e1',
  _org: 'o',
  _schema: 's',
  _created_at: '',
  _updated_at: '',
  _hub: { version: 1, applied: [], outbox: messages.map((m) => JSON.stringify(m)) },
});
const outbox = (d: EntityDoc) => outboxOf(d) as ProcessedEntityMessage[];
const ids = (d: EntityDoc) => outbox(d).map((m) => m.meta.change_id);
const none = { has: () => false };

describe('the outbox an entity is written with', () => {
  it('keeps the recent earlier messages before this write’s, and drops the old ones', () => {
    const written = withOutbox(
      doc([message('old', OUTBOX_KEPT_MS + 1), message('recent', 1_000)]),
      [message('new', 0)],
      none,
      undefined,
      now,
    );
    expect(ids(written)).toEqual(['recent', 'new']);
  });

  it('drops the earlier messages this process knows it sent: in the steady state only this write’s remain', () => {
    const sent = new Set(['recent']);
    expect(
      ids(
        withOutbox(
          doc([message('recent', 1_000), message('unsent', 500)]),
          [message('new', 0)],
          sent,
          undefined,
          now,
        ),
      ),
    ).toEqual(['unsent', 'new']);
  });

  it('is stored as one string, and an outbox an entity holds as an array of strings is read alike', () => {
    const asArray: EntityDoc = {
      ...doc(),
      _hub: { version: 1, applied: [], outbox: [JSON.stringify(message('old', 0))] },
    };
    const written = withOutbox(
      asArray,
      [message('mid', 0, { note: 'a line\nbreak' }), message('new', 0)],
      none,
      undefined,
      now,
    );
    expect(typeof written._hub.outbox).toBe('string');
    expect(ids(written)).toEqual(['old', 'mid', 'new']);
    expect(outboxMessage(written, 'mid')?.entity).toEqual({ note: 'a line\nbreak' });
    expect(outboxMessage(asArray, 'old')?.meta.change_id).toBe('old');
  });

  it('holds one copy of a change written again, and at most as many messages as applied changes', () => {
    expect(ids(withOutbox(doc([message('a', 0)]), [message('a', 0)], none, undefined, now))).toEqual(['a']);
    const many = Array.from({ length: APPLIED_KEPT + 5 }, (_, i) => message(`m${i}`, 0));
    const written = withOutbox(doc(many), [message('last', 0)], none, undefined, now);
    expect(outbox(written)).toHaveLength(APPLIED_KEPT);
    expect(ids(written)?.at(-1)).toBe('last');
  });

  it('keeps a write’s last message without its entity, which comes back as the entity was written', () => {
    const first = { ...doc(), name: 'v2' };
    const written = withOutbox(
      first,
      [message('u1', 0, { name: 'v1' }), message('u2', 0, { name: 'v2' })],
      none,
      undefined,
      now,
    );
    expect(outbox(written).map((m) => m.entity)).toEqual([{ name: 'v1' }, undefined]);
    expect(outboxMessage(written, 'u2')?.entity).toMatchObject({ name: 'v2' });
    // A later write, before u2 was known sent, keeps u2 with the entity as it was before that write.
    const later = withOutbox(
      { ...written, name: 'v3' },
      [message('u3', 0, { name: 'v3' })],
      none,
      written,
      now,
    );
    expect(ids(later)).toEqual(['u1', 'u2', 'u3']);
    expect(outboxMessage(later, 'u2')?.entity).toMatchObject({ name: 'v2' });
    expect(outboxMessage(later, 'u3')?.entity).toMatchObject({ name: 'v3' });
  });

  it('the applied changes keep their last APPLIED_KEPT, and are found by their exact id', () => {
    const at = '2026-01-01T12:00:00.000Z';
    let d = doc();
    for (let i = 0; i < APPLIED_KEPT + 3; i++) d = withApplied(d, { id: `u${i}`, action: 'updated', at });
    expect(appliedChange(d, 'u2')).toBeUndefined();
    expect(appliedChange(d, 'u3')).toEqual({ id: 'u3', action: 'updated', at });
    expect(appliedChange(d, `u${APPLIED_KEPT + 2}`)).toBeDefined();
    d = withApplied(d, { id: 'evt_1:0|contact.owner|0', action: 'created', at });
    expect(appliedChange(d, 'evt_1:0|contact.owner|0')).toEqual({
      id: 'evt_1:0|contact.owner|0',
      action: 'created',
      at,
    });
    expect(appliedChange(d, 'owner|0')).toBeUndefined(); // a suffix of an id is not the id
  });

  it('the applied changes are stored as one string, and those an entity holds as an array are still found', () => {
    const at = '2026-01-01T12:00:00.000Z';
    const ms = Date.parse(at);
    // An entity written before the change: an array, ids as they were (one with a line break).
    let d: EntityDoc = { ...doc(), _hub: { version: 3, applied: [`c${ms} evt_1:0`, `u${ms} odd\nid\\x`] } };
    expect(appliedChange(d, 'evt_1:0')).toEqual({ id: 'evt_1:0', action: 'created', at });
    expect(appliedChange(d, 'odd\nid\\x')).toEqual({ id: 'odd\nid\\x', action: 'updated', at });
    d = withApplied(d, { id: 'evt_2:0', action: 'updated', at });
    expect(typeof d._hub.applied).toBe('string');
    expect(appliedChanges(d)).toHaveLength(3);
    // A line break or a backslash in an id neither splits a change nor makes another id match.
    for (const id of ['evt_1:0', 'odd\nid\\x', 'evt_2:0']) expect(appliedChange(d, id)?.id).toBe(id);
    expect(appliedChange(d, 'id\\x')).toBeUndefined();
    expect(appliedChange(d, 'odd')).toBeUndefined();
  });
});
