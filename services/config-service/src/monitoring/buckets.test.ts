import { monitoringRecord } from '@hub/contracts';
import { describe, expect, it } from 'vitest';
import {
  BUCKET_BYTES,
  BUCKET_RECORDS,
  BUCKET_SPAN,
  bucketId,
  cutBuckets,
  recordsOf,
  storedRecord,
  unpackRecord,
} from './buckets.js';

const record = (i: number, detail: Record<string, unknown> | null = { i }) =>
  monitoringRecord({
    org_id: `org-${i % 2}`,
    integration_id: 'I',
    event_id: `evt_${i}`,
    correlation_id: `C${i % 3}`,
    stage: 'mapped',
    level: 'success',
    final: false,
    detail,
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString(),
  });
const at = (offsets: number[], detail?: (i: number) => Record<string, unknown>) =>
  offsets.map((offset, i) => storedRecord({ offset, record: record(i, detail ? detail(i) : { i }) }));
const expires = new Date('2026-02-01T00:00:00Z');

// The buckets a chunk is stored in (ADR 19): bounded in records, offsets spanned and bytes, named by
// partition and last offset, with what queries select them by.
describe('cutBuckets', () => {
  it('cuts at BUCKET_RECORDS records and names each bucket by its last offset', () => {
    const buckets = cutBuckets(
      3,
      at(Array.from({ length: BUCKET_RECORDS + 20 }, (_, i) => 100 + i)),
      expires,
    );
    expect(buckets.map((b) => [b._id, b.first_offset, b.last_offset, recordsOf(b).length])).toEqual([
      [bucketId(3, 100 + BUCKET_RECORDS - 1), 100, 100 + BUCKET_RECORDS - 1, BUCKET_RECORDS],
      [bucketId(3, 100 + BUCKET_RECORDS + 19), 100 + BUCKET_RECORDS, 100 + BUCKET_RECORDS + 19, 20],
    ]);
    expect(bucketId(3, 619)).toBe('3:00000000000000000619');
  });

  it('never spans BUCKET_SPAN offsets (the sink finds a bucket by the offsets it may end at)', () => {
    const buckets = cutBuckets(0, at([0, 1, BUCKET_SPAN - 1, BUCKET_SPAN, BUCKET_SPAN + 5]), expires);
    expect(buckets.map((b) => recordsOf(b).map((r) => r.o))).toEqual([
      [0, 1, BUCKET_SPAN - 1],
      [BUCKET_SPAN, BUCKET_SPAN + 5],
    ]);
    for (const b of buckets) expect(b.last_offset - b.first_offset).toBeLessThan(BUCKET_SPAN);
  });

  it('cuts before BUCKET_BYTES of record strings, so a bucket stays far below 16 MiB', () => {
    // Each text of a detail is cut at 1,000 characters (MAX_RECORD_TEXT_CHARS): 600 of them, 0.6 MB.
    const big = Object.fromEntries(Array.from({ length: 600 }, (_, k) => [`k${k}`, 'x'.repeat(1_000)]));
    const buckets = cutBuckets(
      0,
      at(
        Array.from({ length: 12 }, (_, i) => i),
        () => big,
      ),
      expires,
    );
    expect(buckets.length).toBeGreaterThan(1);
    for (const b of buckets) expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThan(BUCKET_BYTES);
    expect(buckets.flatMap((b) => recordsOf(b).map((r) => r.o))).toEqual(
      Array.from({ length: 12 }, (_, i) => i),
    );
  });

  it('holds what queries select buckets by, and gives every record back as sent', () => {
    const records = at([5, 6, 7, 8]);
    const [b] = cutBuckets(1, records, expires);
    expect(b).toMatchObject({
      partition: 1,
      org_ids: ['org-0', 'org-1'],
      integration_ids: ['I'],
      event_ids: ['evt_0', 'evt_1', 'evt_2', 'evt_3'],
      correlation_ids: ['C0', 'C1', 'C2'],
      min_created_at: '2026-01-01T00:00:00.000Z',
      max_created_at: '2026-01-01T00:00:03.000Z',
      expires_at: expires,
    });
    expect(recordsOf(b!).map((r) => unpackRecord(r))).toEqual([0, 1, 2, 3].map((i) => record(i)));
    expect(unpackRecord(recordsOf(b!)[0]!, false)).toMatchObject({ message: '', detail: null });
  });

  it('stores a bucket’s records as one JSON text, and reads a bucket that holds them as an array', () => {
    const [b] = cutBuckets(
      0,
      [0, 1].map((i) => storedRecord({ offset: i, record: record(i) })),
      new Date(0),
    );
    expect(typeof b!.records).toBe('string');
    const asArray = { ...b!, records: recordsOf(b!) };
    expect(recordsOf(asArray)).toEqual(recordsOf(b!));
    expect(recordsOf(asArray).map((r) => unpackRecord(r))).toEqual([0, 1].map((i) => record(i)));
  });
});
