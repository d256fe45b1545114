import { describe, expect, it } from 'vitest';
import {
  analyse,
  failingAnswer,
  type ProcessedRecord,
  passed,
  quantile,
  type RunFacts,
  type SentChange,
  unavailableWithin,
  verdict,
} from './analysis.js';

const sent = (customer: string, seq: number, outcome: SentChange['outcome'] = 'accepted'): SentChange => ({
  key: `${customer}:${seq}`,
  customer,
  seq,
  outcome,
  eventIds: [`ev-${customer}-${seq}`],
  sentAt: 0,
});

/** A run with nothing wrong besides the report (a minimum of one accepted change). */
const clean: RunFacts = {
  minimumAccepted: 1,
  failedAnswers: {},
  unplannedExits: [],
  faultErrors: [],
  uncleanStops: [],
};

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
    expect(passed(report, clean)).toBe(true);
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
    expect(passed(report, clean)).toBe(false);
  });

  it('counts a processed change whose event has no final monitoring record', () => {
    const report = analyse(
      [sent('C1', 1), sent('C1', 2)],
      [processed('C1', 1), processed('C1', 2)],
      [],
      [{ customer: 'C1', seq: 2 }],
      new Set(['ev-C1-1']),
    );
    expect(report.unmonitored).toBe(1);
    expect(passed(report, clean)).toBe(false);
  });

  it('counts a dead-lettered change as failed, not lost, and fails the run on it', () => {
    const report = analyse(
      [sent('C1', 1), sent('C2', 1)],
      [processed('C2', 1)],
      [{ eventId: 'ev-C1-1', code: 'MAPPING_FAILED' }],
      [
        { customer: 'C1', seq: 1 },
        { customer: 'C2', seq: 1 },
      ],
    );
    expect(report).toMatchObject({ failed: 1, lost: 0, deadLettersByCode: { MAPPING_FAILED: 1 } });
    // Not the customer's last update either: C2 holds its values, only C1's one change was dead-lettered.
    expect(verdict(report, clean)).toContain('1 accepted changes dead-lettered (MAPPING_FAILED: 1)');
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
    expect(passed(report, clean)).toBe(false);
  });

  it('does not count one record read twice (same partition and offset) as a duplicate', () => {
    const once = processed('C1', 1);
    const report = analyse([sent('C1', 1)], [once, once], [], [{ customer: 'C1', seq: 1 }]);
    expect(report.duplicated.messages).toBe(0);
    expect(passed(report, clean)).toBe(true);
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
    expect(passed(report, clean)).toBe(false);
  });

  describe('the verdict', () => {
    const good = () =>
      analyse(
        [sent('C1', 1), sent('C1', 2)],
        [processed('C1', 1), processed('C1', 2)],
        [],
        [{ customer: 'C1', seq: 2 }],
      );

    it('passes a clean run', () => {
      expect(verdict(good(), clean)).toEqual([]);
    });

    it('fails a run that accepted fewer changes than planned, even with nothing lost', () => {
      expect(verdict(good(), { ...clean, minimumAccepted: 3 })).toEqual([
        '2 changes accepted, fewer than the 3 planned',
      ]);
      const empty = analyse([], [], [], []);
      expect(passed(empty, clean)).toBe(false);
    });

    it('fails on changes answered ignored', () => {
      const report = analyse(
        [sent('C1', 1), sent('C1', 2, 'ignored')],
        [processed('C1', 1)],
        [],
        [{ customer: 'C1', seq: 1 }],
      );
      expect(verdict(report, clean)).toEqual(['1 changes answered ignored']);
    });

    it('fails when fewer changes were processed than accepted', () => {
      const report = analyse(
        [sent('C1', 1), sent('C2', 1)],
        [processed('C1', 1)],
        [{ eventId: 'ev-C2-1', code: 'WRITE_FAILED' }],
        [{ customer: 'C1', seq: 1 }],
      );
      expect(verdict(report, clean)).toContain('1 changes processed of 2 accepted');
    });

    it('fails on an answer a client cannot act on, and not on 503 with Retry-After', () => {
      expect(failingAnswer(503, '5')).toBeUndefined();
      expect(failingAnswer(503, null)).toBe('503 without Retry-After');
      expect(failingAnswer(500, '5')).toBe('500');
      expect(failingAnswer(502, null)).toBe('502');
      expect(failingAnswer(504, '5')).toBe('504');
      expect(failingAnswer(429, '1')).toBe('429');
      expect(verdict(good(), { ...clean, failedAnswers: { 500: 2, 503: 0 } })).toEqual([
        'answers a client cannot act on: 2× 500',
      ]);
    });

    it('fails on an unplanned exit, a fault not injected and an unclean stop', () => {
      expect(
        verdict(good(), {
          ...clean,
          unplannedExits: ['mapper#0 exited (1)'],
          faultErrors: ['restart the database: timeout'],
          uncleanStops: ['entity-writer#1 exited 1'],
        }),
      ).toEqual([
        'unplanned exits: mapper#0 exited (1)',
        'faults not injected: restart the database: timeout',
        'unclean stops: entity-writer#1 exited 1',
      ]);
    });
  });
});

describe('unavailableWithin (the 503 time of a fault)', () => {
  it('sums each span from a 503 to the next 200 inside the window and counts the 503 answers', () => {
    const answers = [
      { at: 100, status: 200 },
      { at: 200, status: 503 },
      { at: 300, status: 503 },
      { at: 450, status: 200 },
      { at: 500, status: 0 }, // no answer: not a 503
      { at: 600, status: 200 },
      { at: 700, status: 503 },
      { at: 900, status: 200 },
    ];
    expect(unavailableWithin(answers, 150, 1_000)).toEqual({ ms: 250 + 200, answers503: 3 });
  });

  it('clips spans that start before the window or are still open at its end', () => {
    const answers = [
      { at: 100, status: 503 },
      { at: 400, status: 200 },
      { at: 800, status: 503 },
    ];
    expect(unavailableWithin(answers, 300, 1_000)).toEqual({ ms: 100 + 200, answers503: 1 });
    expect(unavailableWithin([{ at: 100, status: 200 }], 0, 1_000)).toEqual({ ms: 0, answers503: 0 });
  });
});

describe('quantile', () => {
  it('picks the value at the quantile and is 0 for no values', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(values, 0.99)).toBe(100);
    expect(quantile(values, 0.5)).toBe(51);
    expect(quantile([], 0.99)).toBe(0);
  });
});
