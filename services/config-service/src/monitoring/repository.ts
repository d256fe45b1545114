import type { MonitoringRecord } from '@hub/contracts';
import { ApiError } from '@hub/http';
import {
  type Collection,
  type Filter,
  insertManyNew,
  isDuplicateKeyError,
  isTimeLimitError,
  type MongoStore,
  timeLimit,
} from '@hub/mongo';
import {
  afterCursor,
  BUCKET_SPAN,
  BUCKETS_COLLECTION,
  type BucketDoc,
  bucketId,
  cutBuckets,
  type Keyset,
  LEGACY_COLLECTION,
  matches,
  newestFirst,
  type OffsetRecord,
  oldestFirst,
  type RecordFilter,
  recordsOf,
  type StoredRecord,
  storedRecord,
  unpackRecord,
} from './buckets.js';

/**
 * A record stored by a version before ADR 19 (`monitoring_events`, one document per record, ADR 6): `_id` is
 * the record id. Read (never written) until they expire.
 */
export type MonitoringDoc = Omit<MonitoringRecord, 'id' | 'schema_version' | 'detail'> & {
  _id: string;
  expires_at: Date;
  /**
   * The record's detail as one JSON string: the database encodes a string far more cheaply than a
   * nested document, and nothing queries inside it. (Records stored before hold an object.)
   */
  detail: string | Record<string, unknown> | null;
};

export type { RecordFilter } from './buckets.js';

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

/**
 * A monitoring read ran past its time (`maxMs`): 400 QUERY_TOO_LARGE. On FerretDB no index serves
 * these reads, so one broad query read every organisation's buckets for minutes (issue 19).
 */
export class QueryTooSlowError extends ApiError {
  constructor(readonly maxMs: number) {
    super(
      400,
      'QUERY_TOO_LARGE',
      `the query read monitoring records for longer than ${maxMs} ms and was stopped; narrow from_date/to_date (or filter by use case, event or correlation id)`,
    );
  }
}

/** A bucket of this batch was stored meanwhile (another instance, an earlier attempt): the batch is retried. */
export class BucketStoredMeanwhileError extends Error {
  constructor(readonly partition: number) {
    super(`a monitoring bucket of partition ${partition} was stored meanwhile; the batch is retried`);
    this.name = 'BucketStoredMeanwhileError';
  }
}

/**
 * Offsets before a batch whose buckets the sink reads when it cannot tell what was stored just before
 * (first batch of a partition, a batch that does not follow the last one it stored): their record ids
 * join the partition's window (ADR 19).
 */
export const SEED_OFFSETS = 20_000;
/** Record ids the sink remembers per partition: a record produced again is skipped within this window. */
export const WINDOW_IDS = 50_000;
/**
 * Bucket ids per `_id $in` lookup (SQLite takes at most 32,766 parameters in one statement); the sink
 * heartbeats between them (on FerretDB one of 10,000 names took 1-1.4 s on an idle server).
 */
const ID_LOOKUP_CHUNK = 2_000;
/** What bounds one read of the API in time (libs/mongo `timeLimit`). */
type ReadLimits = ReturnType<typeof timeLimit>;
/** Buckets read per round trip by pages. */
const QUERY_BATCH = 4;
/** How often the sink asks again whether the legacy collection still holds records. */
const LEGACY_RECHECK_MS = 10 * 60_000;

/** The record ids known to be stored in one partition's buckets, newest last, and the offset expected next. */
class IdWindow {
  readonly ids = new Set<string>();
  next = -1;
  add(id: string) {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (this.ids.size > WINDOW_IDS) {
      for (const old of this.ids) {
        this.ids.delete(old);
        if (this.ids.size <= WINDOW_IDS) break;
      }
    }
  }
}

/** A batch of one partition for `store`: its records and the offsets of the messages it covered. */
export interface PartitionBatch {
  partition: number;
  /** Offset of the batch's first message (a record or not). */
  first: number;
  /** Offset after the batch's last message. */
  next: number;
  records: OffsetRecord[];
}

/**
 * The monitoring records of every organisation: one document per chunk of a partition's batch in
 * `monitoring_buckets` (docs/adr/0019), read together with the per-record documents of earlier versions
 * (`monitoring_events`, ADR 6) until those expire. Every read requires the organisation and integration.
 * Records are kept for `retentionDays` after they were stored: expired ones are hidden from reads, and
 * removed by their TTL index on MongoDB or the sink's sweeper on FerretDB (libs/mongo retention.ts).
 * Indexes: libs/mongo plan.ts.
 */
export class MonitoringRepository {
  private readonly buckets: Collection<BucketDoc>;
  private readonly legacy: Collection<MonitoringDoc>;
  private readonly windows = new Map<number, IdWindow>();
  private legacyCheckedAt = 0;
  private legacyEmpty = false;

  /**
   * `readMaxMs`: how long one read of the API (a page, a trace) may take; `scanMaxMs`: an aggregation's
   * scan. On the server (`maxTimeMS`) and in all (a signal that ends its cursor); past it,
   * QueryTooSlowError.
   */
  constructor(
    store: MongoStore,
    private readonly retentionDays: number,
    private readonly readMaxMs = 30_000,
    private readonly scanMaxMs = 5_000,
  ) {
    this.buckets = store.collection<BucketDoc>(BUCKETS_COLLECTION);
    this.legacy = store.collection<MonitoringDoc>(LEGACY_COLLECTION);
  }

  /**
   * Stores a partition's records once (ADR 19): a record whose id is stored already is skipped (a
   * redelivery of this topic, or a record produced again by a service that redid its work), the first
   * copy is kept. A batch that begins where the one this instance stored last ended (since the sink last
   * joined its group: `forgetPositions`) holds no stored record but those the partition's window knows,
   * so nothing is read. Any other batch finds what is stored by `_id` alone: the buckets overlapping it
   * (named by their last offset, at most BUCKET_SPAN after any offset they hold) and those of the
   * SEED_OFFSETS before it; their record ids join the window. Throws when the batch must be retried
   * (nothing of it is known to be stored beyond a prefix of its buckets, which the retry finds: a batch
   * whose insert did not answer is never taken to follow).
   */
  async store(
    batch: PartitionBatch,
    now = Date.now(),
    heartbeat: () => Promise<unknown> = async () => undefined,
  ): Promise<{ stored: number; duplicates: number }> {
    const { partition, records } = batch;
    let window = this.windows.get(partition);
    const follows = window !== undefined && window.next === batch.first;
    if (!window) {
      window = new IdWindow();
      this.windows.set(partition, window);
    }
    let stored = 0;
    if (records.length > 0) {
      const lo = records[0]!.offset;
      const hi = records[records.length - 1]!.offset;
      // Following, every bucket overlapping the batch would be one this instance stored after the last
      // one it knows of: there is none (ADR 19, amended for issue 22: the lookup of ~1,500 ids per
      // chunk was the sink's largest database cost, on FerretDB about 0.1 s each).
      const found = follows
        ? []
        : await this.bucketsBetween(
            partition,
            Math.max(0, lo - SEED_OFFSETS),
            hi + BUCKET_SPAN - 1,
            heartbeat,
          );
      for (const b of found) for (const r of recordsOf(b)) window.add(r.id);
      const batchIds = new Set<string>();
      let kept: StoredRecord[] = [];
      for (const item of records) {
        const id = item.record.id;
        if (window.ids.has(id) || batchIds.has(id)) continue;
        batchIds.add(id);
        kept.push(storedRecord(item));
      }
      if (kept.length > 0 && (await this.legacyMayHold())) {
        const old = await this.legacy
          .find({ _id: { $in: kept.map((r) => r.id) } }, { projection: { _id: 1 } })
          .toArray();
        const before = new Set(old.map((d) => d._id));
        kept = kept.filter((r) => !before.has(r.id));
      }
      const docs = cutBuckets(partition, kept, new Date(now + this.retentionDays * 86_400_000));
      // A stored bucket with the name of one of ours holds another record at that offset: it was written
      // from an earlier topic of the same name (deleted and created again, offsets starting over).
      const names = new Set(docs.map((d) => d._id));
      for (const b of found) if (names.has(b._id)) await this.moveAside(b);
      if (docs.length > 0) {
        // Until the insert answers, part of it may be stored: the retry must look it up.
        window.next = -1;
        try {
          await this.buckets.insertMany(docs, { ordered: true });
        } catch (err) {
          if (isDuplicateKeyError(err)) throw new BucketStoredMeanwhileError(partition);
          throw err;
        }
      }
      for (const r of kept) window.add(r.id);
      stored = kept.length;
    }
    window.next = batch.next;
    return { stored, duplicates: records.length - stored };
  }

  /**
   * Forgets where each partition's last stored batch ended: the sink calls it when its consumer (re)joins
   * its group, since another instance may have stored any partition meanwhile (a rebalance), so the next
   * batch of each looks up what is stored. The record ids of the windows are kept.
   */
  forgetPositions(): void {
    for (const window of this.windows.values()) window.next = -1;
  }

  /** The buckets of `partition` whose last offset is in [from, to], found by `_id` (no scan on FerretDB). */
  private async bucketsBetween(
    partition: number,
    from: number,
    to: number,
    heartbeat: () => Promise<unknown>,
  ): Promise<BucketDoc[]> {
    const out: BucketDoc[] = [];
    for (let lo = from; lo <= to; lo += ID_LOOKUP_CHUNK) {
      if (lo > from) await heartbeat();
      const ids: string[] = [];
      for (let o = lo; o <= Math.min(to, lo + ID_LOOKUP_CHUNK - 1); o++) ids.push(bucketId(partition, o));
      out.push(...(await this.buckets.find({ _id: { $in: ids } }).toArray()));
    }
    return out;
  }

  /** Renames a bucket of an earlier topic out of the way (`<id>~<its first record id>`); idempotent. */
  private async moveAside(b: BucketDoc): Promise<void> {
    await insertManyNew(this.buckets, [{ ...b, _id: `${b._id}~${recordsOf(b)[0]?.id ?? ''}` }]);
    await this.buckets.deleteOne({ _id: b._id });
  }

  /** Whether `monitoring_events` (written before ADR 19) may still hold records: asked every 10 minutes. */
  private async legacyMayHold(): Promise<boolean> {
    if (Date.now() - this.legacyCheckedAt > LEGACY_RECHECK_MS) {
      this.legacyEmpty = (await this.legacy.findOne({}, { projection: { _id: 1 } })) === null;
      this.legacyCheckedAt = Date.now();
    }
    return !this.legacyEmpty;
  }

  /** What selects the buckets that may hold matching records (each record is then held to `f` itself). */
  private bucketFilter(
    orgId: string,
    integrationId: string,
    f: RecordFilter,
    now: Date,
  ): Filter<BucketDoc>[] {
    const and: Filter<BucketDoc>[] = [
      { org_ids: orgId },
      { integration_ids: integrationId },
      { expires_at: { $gt: now } },
    ];
    if (f.from) and.push({ max_created_at: { $gte: f.from } });
    if (f.to) and.push({ min_created_at: { $lte: f.to } });
    if (f.event_id !== undefined) and.push({ event_ids: f.event_id });
    if (f.correlation_id !== undefined) and.push({ correlation_ids: f.correlation_id });
    return and;
  }

  /** The per-record collection's filter (ADR 6), as every version before ADR 19 queried it. */
  private legacyFilter(
    orgId: string,
    integrationId: string,
    f: RecordFilter,
    now: Date,
  ): Filter<MonitoringDoc>[] {
    const and: Filter<MonitoringDoc>[] = [
      { org_id: orgId },
      { integration_id: integrationId },
      { expires_at: { $gt: now } },
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
    return and;
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
    after?: Keyset,
  ): Promise<MonitoringRecord[]> {
    const now = new Date();
    const order = newestFirst(keyset);
    const limits = timeLimit(this.readMaxMs);
    const [fromBuckets, fromLegacy] = await this.bounded(() =>
      Promise.all([
        this.bucketPage(orgId, integrationId, f, limit, keyset, after, now, limits),
        this.legacyPage(orgId, integrationId, f, limit, keyset, after, now, limits),
      ]),
    );
    return [...fromBuckets, ...fromLegacy].sort(order).slice(0, limit + 1);
  }

  /**
   * The first `limit + 1` matching records of the buckets: read newest first by their latest record,
   * unpacked and held record by record to the filters and the cursor, until `limit + 1` are found and no
   * unread bucket can hold one that sorts before the last of them (its latest record is older).
   */
  private async bucketPage(
    orgId: string,
    integrationId: string,
    f: RecordFilter,
    limit: number,
    keyset: 'v1' | 'v2',
    after: Keyset | undefined,
    now: Date,
    limits: ReadLimits,
  ): Promise<MonitoringRecord[]> {
    const and = this.bucketFilter(orgId, integrationId, f, now);
    if (after) and.push({ min_created_at: { $lte: after.created_at } });
    const order = newestFirst(keyset);
    const cursor = this.buckets
      .find({ $and: and }, limits)
      .sort({ max_created_at: -1, _id: -1 })
      .batchSize(QUERY_BATCH);
    let found: StoredRecord[] = [];
    try {
      for await (const doc of cursor) {
        if (found.length > limit) {
          found = found.sort(order).slice(0, limit + 1);
          if (doc.max_created_at < found[limit]!.created_at) break;
        }
        for (const r of recordsOf(doc)) {
          if (matches(r, f) && (!after || afterCursor(r, keyset, after))) found.push(r);
        }
      }
    } finally {
      await cursor.close();
    }
    return found
      .sort(order)
      .slice(0, limit + 1)
      .map((r) => unpackRecord(r));
  }

  /** The per-record documents of earlier versions, as they were queried then. */
  private async legacyPage(
    orgId: string,
    integrationId: string,
    f: RecordFilter,
    limit: number,
    keyset: 'v1' | 'v2',
    after: Keyset | undefined,
    now: Date,
    limits: ReadLimits,
  ): Promise<MonitoringRecord[]> {
    const and = this.legacyFilter(orgId, integrationId, f, now);
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
    const docs = await this.legacy
      .find({ $and: and }, limits)
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
    const now = new Date();
    const limits = timeLimit(this.readMaxMs);
    const [fromBuckets, fromLegacy] = await this.bounded(() =>
      Promise.all([
        this.bucketsOldestFirst(orgId, integrationId, f, max, now, limits),
        this.legacy
          .find({ $and: this.legacyFilter(orgId, integrationId, f, now) }, limits)
          .sort({ created_at: 1, _id: 1 })
          .limit(max + 1)
          .toArray(),
      ]),
    );
    return [...fromBuckets, ...fromLegacy.map(toRecord)].sort(oldestFirst).slice(0, max + 1);
  }

  /**
   * The first `max + 1` matching records of the buckets, oldest first: read by their earliest record until
   * no unread bucket can hold one that sorts before the last of them.
   */
  private async bucketsOldestFirst(
    orgId: string,
    integrationId: string,
    f: RecordFilter,
    max: number,
    now: Date,
    limits: ReadLimits,
  ): Promise<MonitoringRecord[]> {
    const cursor = this.buckets
      .find({ $and: this.bucketFilter(orgId, integrationId, f, now) }, limits)
      .sort({ min_created_at: 1, _id: 1 })
      .batchSize(QUERY_BATCH);
    let found: StoredRecord[] = [];
    try {
      for await (const doc of cursor) {
        if (found.length > max) {
          found = found.sort(oldestFirst).slice(0, max + 1);
          if (doc.min_created_at > found[max]!.created_at) break;
        }
        for (const r of recordsOf(doc)) if (matches(r, f)) found.push(r);
      }
    } finally {
      await cursor.close();
    }
    return found
      .sort(oldestFirst)
      .slice(0, max + 1)
      .map((r) => unpackRecord(r));
  }

  /**
   * Every matching record (without `detail` and `message`: what aggregation needs), streamed; at most
   * `max` of them: one more throws ScanTooLargeError, so a statistics request never holds more than `max`
   * records in memory.
   */
  async *scan(
    orgId: string,
    integrationId: string,
    f: RecordFilter,
    max: number,
  ): AsyncGenerator<MonitoringRecord> {
    const now = new Date();
    const limits = timeLimit(this.scanMaxMs);
    let seen = 0;
    const legacy = this.legacy
      .find(
        { $and: this.legacyFilter(orgId, integrationId, f, now) },
        { projection: { detail: 0, message: 0 }, ...limits },
      )
      .limit(max + 1);
    const cursor = this.buckets
      .find({ $and: this.bucketFilter(orgId, integrationId, f, now) }, limits)
      .batchSize(QUERY_BATCH);
    try {
      for await (const doc of legacy) {
        if (++seen > max) throw new ScanTooLargeError(max);
        yield toRecord({ ...doc, message: '', detail: null });
      }
      for await (const doc of cursor) {
        for (const r of recordsOf(doc)) {
          if (!matches(r, f)) continue;
          if (++seen > max) throw new ScanTooLargeError(max);
          yield unpackRecord(r, false);
        }
      }
    } catch (err) {
      throw isTimeLimitError(err) ? new QueryTooSlowError(this.scanMaxMs) : err;
    } finally {
      await Promise.all([legacy.close(), cursor.close()]);
    }
  }

  /** Runs a read, a stop at its time limit answered as QueryTooSlowError. */
  private async bounded<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      throw isTimeLimitError(err) ? new QueryTooSlowError(this.readMaxMs) : err;
    }
  }
}
