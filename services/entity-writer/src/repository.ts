import { randomUUID } from 'node:crypto';
import type { ProcessedEntityMessage } from '@hub/contracts';
import { type Collection, type Filter, isDuplicateKeyError, type MongoStore } from '@hub/mongo';
import type { LookupCondition } from './lookup.js';

/** How an entity is stored: its attributes at the top level, our bookkeeping under `_hub`. */
export interface EntityDoc {
  _id: string;
  _org: string;
  _schema: string;
  _created_at: string;
  _updated_at: string;
  _deleted_at?: string;
  _hub: {
    /** Unique per (org, schema, unique-id values) of the creating update: two concurrent creators collide. */
    create_key: string;
    /** Bumped by every write; writes compare-and-set on it. */
    version: number;
    /** The last update ids applied, so a redelivered update is recognised. */
    applied: string[];
    /** Processed-entity messages written with the change and not yet confirmed sent. */
    outbox: ProcessedEntityMessage[];
  };
  [attribute: string]: unknown;
}

const APPLIED_KEPT = 100;

/** Public view of an entity: everything but our bookkeeping. */
export function entityView(doc: EntityDoc): Record<string, unknown> {
  const { _hub, _deleted_at, ...rest } = doc;
  return rest;
}

/** Entities, always scoped by organisation. The only user of the entities collection. */
export class EntitiesRepository {
  readonly docs: Collection<EntityDoc>;

  constructor(private readonly store: MongoStore) {
    this.docs = store.collection<EntityDoc>('entities');
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes('entities', [
      { key: { '_hub.create_key': 1 }, name: 'create_key', unique: true },
      { key: { _org: 1, _schema: 1, _id: 1 }, name: 'org_schema_id' },
    ]);
  }

  /** Up to `limit` entities (deleted ones included) matching every condition. */
  async lookup(
    orgId: string,
    schema: string,
    conditions: LookupCondition[],
    limit = 2,
  ): Promise<EntityDoc[]> {
    const filter: Filter<EntityDoc> = { _org: orgId, _schema: schema };
    for (const c of conditions) (filter as Record<string, unknown>)[c.path] = c.value;
    return this.docs.find(filter).limit(limit).toArray();
  }

  async get(orgId: string, id: string): Promise<EntityDoc | null> {
    return this.docs.findOne({ _id: id, _org: orgId });
  }

  /** Inserts a new entity; `false` when a concurrent creator with the same key won. */
  async create(doc: Omit<EntityDoc, '_id'> & { _id?: string }): Promise<EntityDoc | false> {
    const full = { ...doc, _id: doc._id ?? randomUUID() } as EntityDoc;
    try {
      await this.docs.insertOne(full);
      return full;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /**
   * Writes a change if the entity is still at `version` (compare-and-set); `false` when another write
   * came first. Records the update as applied and its processed message in the outbox, in the same write.
   */
  async update(
    current: EntityDoc,
    set: Record<string, unknown>,
    unset: string[],
    updateId: string,
    outbox: ProcessedEntityMessage,
  ): Promise<boolean> {
    const result = await this.docs.updateOne(
      { _id: current._id, '_hub.version': current._hub.version },
      {
        $set: {
          ...set,
          '_hub.version': current._hub.version + 1,
          '_hub.applied': [...current._hub.applied, updateId].slice(-APPLIED_KEPT),
          '_hub.outbox': [...current._hub.outbox, outbox],
        },
        ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((k) => [k, ''])) } : {}),
      },
    );
    return result.matchedCount === 1;
  }

  /**
   * Confirms outbox messages as sent: removes them with a compare-and-set on the version (FerretDB's
   * `$pull` cannot match on a nested field with `$in`, so the remaining list is computed here).
   */
  async clearOutbox(id: string, changeIds: readonly string[]): Promise<void> {
    const sent = new Set(changeIds);
    for (let attempt = 0; attempt < 20; attempt++) {
      const doc = await this.docs.findOne({ _id: id });
      if (!doc) return;
      const remaining = doc._hub.outbox.filter((m) => !sent.has(m.meta.change_id));
      if (remaining.length === doc._hub.outbox.length) return;
      const result = await this.docs.updateOne(
        { _id: id, '_hub.version': doc._hub.version },
        { $set: { '_hub.outbox': remaining, '_hub.version': doc._hub.version + 1 } },
      );
      if (result.matchedCount === 1) return;
    }
    throw new Error(`entity ${id}: could not clear its outbox under concurrent writes`);
  }

  async purge(id: string): Promise<void> {
    await this.docs.deleteOne({ _id: id });
  }

  /** Exact-match search on attributes (nested email/phone values too), keyset-paginated by id. */
  async search(
    orgId: string,
    schema: string,
    where: Record<string, string>,
    limit: number,
    after: string | undefined,
  ): Promise<EntityDoc[]> {
    const and: Filter<EntityDoc>[] = [
      { _org: orgId },
      { _schema: schema },
      { _deleted_at: { $exists: false } },
    ];
    if (after) and.push({ _id: { $gt: after } });
    for (const [attribute, value] of Object.entries(where)) {
      and.push({
        $or: [{ [attribute]: value }, { [`${attribute}.email`]: value }, { [`${attribute}.phone`]: value }],
      } as Filter<EntityDoc>);
    }
    return this.docs.find({ $and: and }).sort({ _id: 1 }).limit(limit).toArray();
  }
}

export const APPLIED_HISTORY = APPLIED_KEPT;
