import { describe, expect, it } from 'vitest';
import { analyse, type ProcessedRecord, passed, type SentChange } from './analysis.js';

const sent = (customer: string, seq: number, outcome: SentChange['outcome'] = 'accepted'): SentChange => ({
  key: `${customer}:${seq}`,
  customer,
  seq,
  outcome,
  eventIds: [`ev-${customer}-${seq}`],
  sentAt: 0,
});

let offset = 0;
const processed = (customer: string, seq: number, changeId = `ch-${customer}-${seq}`): ProcessedRecord => ({
  partition: 0,
  offset: String(offset++),
  changeId,
  eventId: `ev-${customer}-${seq}`,
  customer,
  seq,
  receivedAt: 0,
});

describe('the chaos report', () => {
  it('passes when every accepted change was processed once and the store holds the last values', () => {
    const report = analyse(
      [sent('C1', 1), sent('C1', 2), sent('C2', 1, 'accepted-earlier')],
      [processed('C1', 1), processed('C1', 2), processed('C2', 1)],
      [],
      [
        { customer: 'C1', seq: 2 },
        { customer: 'C2', seq: 1 },
      ],
    );
    expect(report).toMatchObject({ accepted: 3, acceptedOnRetry: 1, processed: 3, lost: 0 });
    expect(passed(report)).toBe(true);
  });

  it('counts an accepted change with no processed message and no dead letter as lost', () => {
    const report = analyse(
      [sent('C1', 1), sent('C1', 2)],
      [processed('C1', 1)],
      [],
      [{ customer: 'C1', seq: 2 }],
    );
    expect(report.lost).toBe(1);
    expect(report.lostKeys).toEqual(['C1:2']);
    expect(passed(report)).toBe(false);
  });

  it('counts a dead-lettered change as failed, not lost', () => {
    const report = analyse(
      [sent('C1', 1)],
      [],
      [{ eventId: 'ev-C1-1', code: 'MAPPING_FAILED' }],
      [{ customer: 'C1', seq: 1 }],
    );
    expect(report).toMatchObject({ failed: 1, lost: 0, deadLettersByCode: { MAPPING_FAILED: 1 } });
  });

  it('finds a change published twice, and a change applied under two change ids', () => {
    const again = processed('C1', 1);
    const report = analyse(
      [sent('C1', 1), sent('C2', 1)],
      [again, { ...again, offset: String(offset++) }, processed('C2', 1), processed('C2', 1, 'other')],
      [],
      [
        { customer: 'C1', seq: 1 },
        { customer: 'C2', seq: 1 },
      ],
    );
    expect(report.duplicated).toMatchObject({ messages: 1, changes: 1 });
    expect(passed(report)).toBe(false);
  });

  it('does not count one record read twice (same partition and offset) as a duplicate', () => {
    const once = processed('C1', 1);
    const report = analyse([sent('C1', 1)], [once, once], [], [{ customer: 'C1', seq: 1 }]);
    expect(report.duplicated.messages).toBe(0);
    expect(passed(report)).toBe(true);
  });

  it('finds duplicate entities and entities that miss their last update', () => {
    const report = analyse(
      [sent('C1', 1), sent('C1', 2), sent('C2', 1)],
      [processed('C1', 1), processed('C1', 2), processed('C2', 1)],
      [],
      [
        { customer: 'C1', seq: 1 },
        { customer: 'C2', seq: 1 },
        { customer: 'C2', seq: 1 },
      ],
    );
    expect(report.entities.duplicates).toEqual(['C2']);
    expect(report.entities.stale).toEqual([{ customer: 'C1', expectedSeq: 2, storedSeq: 1 }]);
    expect(passed(report)).toBe(false);
  });
});
