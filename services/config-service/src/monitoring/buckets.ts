import type { MonitoringRecord } from '@hub/contracts';

/**
 * The monitoring records' layout of ADR 19 (docs/adr/0019-monitoring-buckets.md): one document per chunk
 * of a partition's fetched batch. Pure functions here (cutting a batch into buckets, a record held to a
 * query's filters and keyset, the queries' orders); the database side is repository.ts.
 */

/** The collection of buckets (ADR 19). */
export const BUCKETS_COLLECTION = 'monitoring_buckets';
/** One document per record (ADR 6), written by earlier versions: read and merged until it expires. */
export const LEGACY_COLLECTION = 'monitoring_events';

/** Most records in one bucket (the consumer's chunk is at most 500 messages). */
export const BUCKET_RECORDS = 500;
/**
 * Most offsets one bucket spans (`last_offset - first_offset < BUCKET_SPAN`): a bucket that holds an
 * offset of a batch ends (and so is named, `bucketId`) within BUCKET_SPAN offsets after it, which is
 * what lets the sink find every stored bucket overlapping a batch by `_id` alone.
 */
export const BUCKET_SPAN = 1_000;
/**
 * Bytes of records a bucket takes before the next one starts, counted as `recordBytes` does: MongoDB
 * refuses documents over 16 MiB; a quarter of it leaves room for the id arrays, the records' JSON text
 * (whose escapes make a string at most 6 times its length: a control character as `\u0001`) and framing.
 */
export const BUCKET_BYTES = 4 * 1024 * 1024;

/** A record inside a bucket: as on the topic, the detail as one JSON string, with its offset. */
export type StoredRecord = Omit<MonitoringRecord, 'schema_version' | 'detail'> & {
  /** The record's offset in its partition of `erp.monitoring.events`. */
  o: number;
  detail: string | null;
};

export interface BucketDoc {
  /** `<partition>:<last offset, 20 digits>` (`bucketId`). */
  _id: string;
  partition: number;
  first_offset: number;
  last_offset: number;
  /** What queries select buckets by (multikey indexes on MongoDB, libs/mongo plan.ts). */
  org_ids: string[];
  integration_ids: string[];
  event_ids: string[];
  correlation_ids: string[];
  min_created_at: string;
  max_created_at: string;
  expires_at: Date;
  /**
   * The records, in offset order, as one JSON text (an array of `StoredRecord`): no query looks inside
   * them (the id arrays and times select buckets; records are held to the filters here), and FerretDB
   * stores one string for a fraction of the cost of hundreds of nested documents (ADR 19, amended
   * 2026-12). Buckets written before hold the array itself; `recordsOf` reads both.
   */
  records: string | StoredRecord[];
}

/** A bucket's records, in offset order, in either stored form. */
export function recordsOf(bucket: Pick<BucketDoc, 'records'>): StoredRecord[] {
  return typeof bucket.records === 'string' ? (JSON.parse(bucket.records) as StoredRecord[]) : bucket.records;
}

/** A record and its offset, as the sink hands them over. */
export interface OffsetRecord {
  offset: number;
  record: MonitoringRecord;
}

export const bucketId = (partition: number, lastOffset: number) =>
  `${partition}:${String(lastOffset).padStart(20, '0')}`;

/** A record's share of BUCKET_BYTES: its strings twice (UTF-16 worst case), plus room for the rest. */
function recordBytes(r: StoredRecord): number {
  return (
    1_024 + 2 * (r.message.length + (r.detail?.length ?? 0) + r.event_id.length + r.correlation_id.length)
  );
}

export function storedRecord({ offset, record }: OffsetRecord): StoredRecord {
  const { schema_version: _v, detail, ...rest } = record;
  return { ...rest, o: offset, detail: detail ? JSON.stringify(detail) : null };
}

/**
 * The buckets of a partition's records (in offset order): cut where a bucket would pass BUCKET_RECORDS,
 * BUCKET_SPAN offsets or BUCKET_BYTES. The same records give the same buckets.
 */
export function cutBuckets(partition: number, records: StoredRecord[], expires: Date): BucketDoc[] {
  const out: BucketDoc[] = [];
  let part: StoredRecord[] = [];
  let bytes = 0;
  const flush = () => {
    if (part.length > 0) out.push(bucketDoc(partition, part, expires));
    part = [];
    bytes = 0;
  };
  for (const r of records) {
    const size = recordBytes(r);
    if (
      part.length > 0 &&
      (part.length >= BUCKET_RECORDS || r.o - part[0]!.o >= BUCKET_SPAN || bytes + size > BUCKET_BYTES)
    ) {
      flush();
    }
    part.push(r);
    bytes += size;
  }
  flush();
  return out;
}

function bucketDoc(partition: number, records: StoredRecord[], expires: Date): BucketDoc {
  const distinct = (pick: (r: StoredRecord) => string) => [...new Set(records.map(pick))];
  let min = records[0]!.created_at;
  let max = min;
  for (const r of records) {
    if (r.created_at < min) min = r.created_at;
    if (r.created_at > max) max = r.created_at;
  }
  const last = records[records.length - 1]!.o;
  return {
    _id: bucketId(partition, last),
    partition,
    first_offset: records[0]!.o,
    last_offset: last,
    org_ids: distinct((r) => r.org_id),
    integration_ids: distinct((r) => r.integration_id),
    event_ids: distinct((r) => r.event_id),
    correlation_ids: distinct((r) => r.correlation_id),
    min_created_at: min,
    max_created_at: max,
    expires_at: expires,
    records: JSON.stringify(records),
  };
}

/** A bucket's record as the queries answer it (`detail` parsed; without it for aggregations). */
export function unpackRecord(r: StoredRecord, withDetail = true): MonitoringRecord {
  const { o: _o, detail, ...rest } = r;
  if (!withDetail) return { schema_version: 1, ...rest, message: '', detail: null };
  return {
    schema_version: 1,
    ...rest,
    detail: detail ? (JSON.parse(detail) as Record<string, unknown>) : null,
  };
}

/** Filters every monitoring query may use; the organisation and integration are always required. */
export interface RecordFilter {
  from?: string;
  to?: string;
  level?: MonitoringRecord['level'];
  levels?: Array<MonitoringRecord['level']>;
  code?: string;
  event_id?: string;
  correlation_id?: string;
  use_case_type?: string;
  use_case_types?: string[];
  /** An exact use case id, '' for "General". */
  use_case_id?: string;
  /** Records whose use case id is set but not one of these (the reference's `__unknown__`). */
  use_case_not_in?: string[];
  final?: boolean;
  stages?: Array<MonitoringRecord['stage']>;
  event_type?: string;
  object_type?: string;
  sync_type?: string;
  category?: string;
}

/** The keyset of a page: v2 orders by `(created_at, id)`, v1 by `(created_at, event_id, id)`. */
export interface Keyset {
  created_at: string;
  id: string;
  event_id?: string;
}

type Ordered = Pick<MonitoringRecord, 'created_at' | 'event_id' | 'id'>;

/**
 * A record of a bucket held to the filters the per-record collection's query applied (repository.ts
 * `legacyFilter`), in the same terms: equality, `$in`, `$nin` (a missing field matches `$nin`, not `=`).
 */
export function matches(r: Omit<StoredRecord, 'o'>, f: RecordFilter): boolean {
  if (f.from && !(r.created_at >= f.from)) return false;
  if (f.to && !(r.created_at <= f.to)) return false;
  if (f.level && r.level !== f.level) return false;
  if (f.levels && !f.levels.includes(r.level)) return false;
  if (f.code !== undefined && r.code !== f.code) return false;
  if (f.event_id !== undefined && r.event_id !== f.event_id) return false;
  if (f.correlation_id !== undefined && r.correlation_id !== f.correlation_id) return false;
  if (f.use_case_type !== undefined && r.use_case_type !== f.use_case_type) return false;
  if (f.use_case_types && !f.use_case_types.includes(r.use_case_type)) return false;
  if (f.use_case_id !== undefined && r.use_case_id !== f.use_case_id) return false;
  if (f.use_case_not_in && (r.use_case_id === '' || f.use_case_not_in.includes(r.use_case_id))) return false;
  if (f.final !== undefined && r.final !== f.final) return false;
  if (f.stages && !f.stages.includes(r.stage)) return false;
  if (f.event_type !== undefined && r.event_type !== f.event_type) return false;
  if (f.object_type !== undefined && r.object_type !== f.object_type) return false;
  if (f.sync_type !== undefined && r.sync_type !== f.sync_type) return false;
  if (f.category !== undefined && r.category !== f.category) return false;
  return true;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Newest first: v2 by (created_at, id), v1 by (created_at, event_id, id), all descending. */
export function newestFirst(keyset: 'v1' | 'v2') {
  return (a: Ordered, b: Ordered): number =>
    cmp(b.created_at, a.created_at) || (keyset === 'v1' ? cmp(b.event_id, a.event_id) : 0) || cmp(b.id, a.id);
}

/** Oldest first, by (created_at, id). */
export const oldestFirst = (a: Ordered, b: Ordered): number =>
  cmp(a.created_at, b.created_at) || cmp(a.id, b.id);

/** Whether `r` comes after the cursor `after` in the page order of `keyset` (newest first). */
export function afterCursor(r: Ordered, keyset: 'v1' | 'v2', after: Keyset): boolean {
  return (
    newestFirst(keyset)(r, { created_at: after.created_at, event_id: after.event_id ?? '', id: after.id }) > 0
  );
}
