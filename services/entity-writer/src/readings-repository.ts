import { nameUuid } from '@hub/contracts';
import { type Collection, type Filter, isDuplicateKeyError, type MongoStore } from '@hub/mongo';

/** A stored meter reading: the mapped attributes at the top level, the match fields, our bookkeeping. */
export interface ReadingDoc {
  _id: string;
  _org: string;
  meter_id: string;
  counter_id: string | null;
  direction: string | null;
  /** Europe/Berlin calendar day of `timestamp`, for `strict-date` matching. */
  berlin_day: string | null;
  _created_at: string;
  _updated_at: string;
  _hub: { create_key: string; version: number; applied: string[] };
  [attribute: string]: unknown;
}

const APPLIED_KEPT = 20;

/** Public view of a reading. */
export function readingView(doc: ReadingDoc): Record<string, unknown> {
  const { _hub, _org, berlin_day, counter_id, direction, ...rest } = doc;
  return {
    ...rest,
    ...(counter_id !== null ? { counter_id } : {}),
    ...(direction !== null ? { direction } : {}),
  };
}

/**
 * Meter readings (collection `meter_readings`), always scoped by organisation. A reading's `_id` is derived
 * from its create key: two concurrent creators collide on it. Indexes: libs/mongo plan.ts.
 */
export class ReadingsRepository {
  readonly docs: Collection<ReadingDoc>;

  constructor(store: MongoStore) {
    this.docs = store.collection<ReadingDoc>('meter_readings');
  }

  async find(filter: Record<string, unknown>, limit = 2): Promise<ReadingDoc[]> {
    return this.docs
      .find(filter as Filter<ReadingDoc>)
      .limit(limit)
      .toArray();
  }

  /** Readings of a meter, oldest first. */
  async ofMeter(org: string, meterId: string): Promise<ReadingDoc[]> {
    return this.docs
      .find({ _org: org, meter_id: meterId })
      .sort({ timestamp: 1, _id: 1 })
      .limit(10_000)
      .toArray();
  }

  /** Inserts a reading; `false` when a concurrent creator of the same reading won. */
  async create(doc: Omit<ReadingDoc, '_id'>): Promise<ReadingDoc | false> {
    const createKey = (doc as ReadingDoc)._hub.create_key;
    const full = { ...doc, _id: nameUuid(`reading\u0000${createKey}`) } as ReadingDoc;
    try {
      await this.docs.insertOne(full);
      return full;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Compare-and-set write of a reading's attributes; `false` when another write came first. */
  async update(current: ReadingDoc, set: Record<string, unknown>, updateId: string): Promise<boolean> {
    const result = await this.docs.updateOne(
      { _id: current._id, _org: current._org, '_hub.version': current._hub.version },
      {
        $set: {
          ...set,
          '_hub.version': current._hub.version + 1,
          '_hub.applied': [...current._hub.applied, updateId].slice(-APPLIED_KEPT),
        },
      },
    );
    return result.matchedCount === 1;
  }

  async remove(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.docs.deleteMany({ _id: { $in: ids } })).deletedCount;
  }
}
