import type { MonitoringRecord } from '@hub/contracts';
import { ApiError } from '@hub/http';
import { type Collection, type Filter, insertManyNew, type MongoStore } from '@hub/mongo';

/** A stored record: `_id` is the record id (deterministic, so a redelivery is a duplicate key). */
export type MonitoringDoc = Omit<MonitoringRecord, 'id' | 'schema_version' | 'detail'> & {
  _id: string;
  expires_at: Date;
  /**
   * The record's detail as one JSON string: the database encodes a string far more cheaply than a
   * nested document, and nothing queries inside it. (Records stored before hold an object.)
   */
  detail: string | Record<string, unknown> | null;
};

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

export type KeysetOrder = 'newest' | 'oldest';

/**
 * Keys starting with `$` are refused by MongoDB/FerretDB at any depth: records stored with their detail
 * as a document kept them as `_$…` (as the writer does); read back without the `_`.
 */
function unescapeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unescapeKeys);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[/^_+\$/.test(k) ? k.slice(1) : k] = unescapeKeys(v);
  return out;
}

export const toRecord = (doc: MonitoringDoc): MonitoringRecord => {
  const { _id, expires_at: _e, detail, ...rest } = doc;
  return {
    schema_version: 1,
    id: _id,
    ...rest,
    detail:
      typeof detail === 'string'
        ? (JSON.parse(detail) as Record<string, unknown>)
        : detail
          ? (unescapeKeys(detail) as Record<string, unknown>)
          : null,
  };
};

/**
 * The monitoring records of every organisation (collection `monitoring_events`). Every read requires
 * the organisation and integration. Records are kept for `retentionDays` after they were stored:
 * expired ones are hidden from reads, and removed by their TTL index on MongoDB or the sink's sweeper on
 * FerretDB (libs/mongo retention.ts). Indexes: libs/mongo plan.ts.
 */
/** A statistics query matched more records than one request may aggregate: 400 QUERY_TOO_LARGE. */
export class ScanTooLargeError extends ApiError {
  constructor(readonly max: number) {
    super(
      400,
      'QUERY_TOO_LARGE',
      `the query matches more than ${max} monitoring records; narrow from_date/to_date (or filter by use case)`,
    );
  }
}

export class MonitoringRepository {
  private readonly docs: Collection<MonitoringDoc>;

  constructor(
    store: MongoStore,
    private readonly retentionDays: number,
  ) {
    this.docs = store.collection<MonitoringDoc>('monitoring_events');
  }

  /** Stores a record once: a record id already stored (a redelivery) is not an error. */
  async insert(record: MonitoringRecord, now = Date.now()): Promise<'stored' | 'duplicate'> {
    return (await this.insertMany([record], now)).duplicates > 0 ? 'duplicate' : 'stored';
  }

  /** Stores records in one command, each once: ids already stored (redeliveries) are skipped. */
  async insertMany(records: MonitoringRecord[], now = Date.now()): Promise<{ duplicates: number }> {
    const expires = new Date(now + this.retentionDays * 86_400_000);
    // One document per id: a batch may hold a record and its redelivery.
    const docs = new Map<string, MonitoringDoc>();
    for (const { id, schema_version: _v, detail, ...rest } of records) {
      if (docs.has(id)) continue; // the first copy is the one kept, as a later insert would be refused
      docs.set(id, {
        _id: id,
        ...rest,
        detail: detail ? JSON.stringify(detail) : null,
        expires_at: expires,
      } as MonitoringDoc);
    }
    const skipped = await insertManyNew(this.docs, [...docs.values()]);
    return { duplicates: skipped.length + (records.length - docs.size) };
  }

  private filter(orgId: string, integrationId: string, f: RecordFilter): Filter<MonitoringDoc> {
    const and: Filter<MonitoringDoc>[] = [
      { org_id: orgId },
      { integration_id: integrationId },
      { expires_at: { $gt: new Date() } },
    ];
    if (f.from) and.push({ created_at: { $gte: f.from } });
    if (f.to) and.push({ created_at: { $lte: f.to } });
    if (f.level) and.push({ level: f.level });
    if (f.levels) and.push({ level: { $in: f.levels } });
    if (f.code !== undefined) and.push({ code: f.code });
    if (f.event_id !== undefined) and.push({ event_id: f.event_id });
    if (f.correlation_id !== undefined) and.push({ correlation_id: f.correlation_id });
    if (f.use_case_type !== undefined) and.push({ use_case_type: f.use_case_type as never });
    if (f.use_case_types) and.push({ use_case_type: { $in: f.use_case_types as never[] } });
    if (f.use_case_id !== undefined) and.push({ use_case_id: f.use_case_id });
    if (f.use_case_not_in) and.push({ use_case_id: { $nin: ['', ...f.use_case_not_in] } });
    if (f.final !== undefined) and.push({ final: f.final });
    if (f.stages) and.push({ stage: { $in: f.stages } });
    if (f.event_type !== undefined) and.push({ event_type: f.event_type });
    if (f.object_type !== undefined) and.push({ object_type: f.object_type });
    if (f.sync_type !== undefined) and.push({ sync_type: f.sync_type as never });
    if (f.category !== undefined) and.push({ category: f.category as never });
    return { $and: and };
  }

  /**
   * A page, newest first, after a keyset cursor: v2 orders by `(created_at, id)`, v1 by
   * `(created_at, event_id, id)`. Returns up to `limit + 1` records to tell `has_more`.
   */
  async page(
    orgId: string,
    integrationId: string,
    f: RecordFilter,
    limit: number,
    keyset: 'v1' | 'v2',
    after?: { created_at: string; id: string; event_id?: string },
  ): Promise<MonitoringRecord[]> {
    const filter = this.filter(orgId, integrationId, f);
    const and = (filter as { $and: Filter<MonitoringDoc>[] }).$and;
    const byEvent = keyset === 'v1';
    if (after && byEvent) {
      and.push({
        $or: [
          { created_at: { $lt: after.created_at } },
          { created_at: after.created_at, event_id: { $lt: after.event_id ?? '' } },
          { created_at: after.created_at, event_id: after.event_id ?? '', _id: { $lt: after.id } },
        ],
      });
    } else if (after) {
      and.push({
        $or: [
          { created_at: { $lt: after.created_at } },
          { created_at: after.created_at, _id: { $lt: after.id } },
        ],
      });
    }
    const sort = byEvent ? { created_at: -1, event_id: -1, _id: -1 } : { created_at: -1, _id: -1 };
    const docs = await this.docs
      .find(filter)
      .sort(sort as never)
      .limit(limit + 1)
      .toArray();
    return docs.map(toRecord);
  }

  /** Oldest first, at most `max` (+1 to tell truncation). */
  async chronological(
    orgId: string,
    integrationId: string,
    f: RecordFilter,
    max: number,
  ): Promise<MonitoringRecord[]> {
    const docs = await this.docs
      .find(this.filter(orgId, integrationId, f))
      .sort({ created_at: 1, _id: 1 })
      .limit(max + 1)
      .toArray();
    return docs.map(toRecord);
  }

  /**
   * Every matching record (projected to what aggregation needs), streamed; at most `max` of them: one more
   * throws ScanTooLargeError, so a statistics request never holds more than `max` records in memory.
   */
  async *scan(
    orgId: string,
    integrationId: string,
    f: RecordFilter,
    max: number,
  ): AsyncGenerator<MonitoringRecord> {
    const cursor = this.docs
      .find(this.filter(orgId, integrationId, f), { projection: { detail: 0, message: 0 } })
      .limit(max + 1);
    let seen = 0;
    for await (const doc of cursor) {
      if (++seen > max) throw new ScanTooLargeError(max);
      yield toRecord({ ...doc, message: '', detail: null });
    }
  }
}
