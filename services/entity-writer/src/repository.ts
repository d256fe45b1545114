import { randomUUID } from 'node:crypto';
import type { ProcessedEntityMessage } from '@hub/contracts';
import { type Collection, type Filter, isDuplicateKeyError, type MongoStore } from '@hub/mongo';
import { linkedEntityIds } from './attributes.js';
import { EntityLocks } from './locks.js';
import type { LookupCondition } from './lookup.js';
import { decodeKeys, encodeKeys } from './storage-keys.js';

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
    /** Entity ids this entity links to (`$relation` / `$relation_ref`), for reverse lookups by prune scopes. */
    links?: string[];
  };
  [attribute: string]: unknown;
}

/**
 * Applied update ids kept per entity. A redelivery replays at most the messages after the last committed
 * offset, so a short window suffices; a long one is costly: FerretDB decodes every document of a
 * lookup scan, and 100 ids made a lookup over 250 entities ~10x slower than 20.
 */
const APPLIED_KEPT = 20;

/** How long a soft-deleted entity is kept before the sweeper purges it. */
export const SOFT_DELETE_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

const decode = (doc: EntityDoc): EntityDoc => decodeKeys(doc);

/** Public view of an entity: everything but our bookkeeping. */
export function entityView(doc: EntityDoc): Record<string, unknown> {
  const { _hub, _deleted_at, ...rest } = doc;
  return rest;
}

/** Entities, always scoped by organisation. The only user of the entities collection. */
export class EntitiesRepository {
  readonly docs: Collection<EntityDoc>;

  private readonly locks: EntityLocks;

  constructor(private readonly store: MongoStore) {
    this.docs = store.collection<EntityDoc>('entities');
    this.locks = new EntityLocks(store);
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes('entities', [
      { key: { '_hub.create_key': 1 }, name: 'create_key', unique: true },
      { key: { _org: 1, _schema: 1, _id: 1 }, name: 'org_schema_id' },
      { key: { _org: 1, _schema: 1, '_hub.links': 1 }, name: 'org_schema_links' },
      { key: { _deleted_at: 1 }, name: 'deleted_at' },
    ]);
  }

  /** Up to `limit` entities (deleted ones included) matching every condition. */
  async lookup(
    orgId: string,
    schema: string,
    conditions: LookupCondition[],
    limit = 2,
  ): Promise<EntityDoc[]> {
    // The scope is its own clause: no condition can replace it (names and values are checked by the caller).
    const filter = {
      $and: [{ _org: orgId }, { _schema: schema }, ...conditions.map((c) => ({ [c.path]: c.value }))],
    } as Filter<EntityDoc>;
    return (await this.docs.find(filter).limit(limit).toArray()).map(decode);
  }

  async get(orgId: string, id: string): Promise<EntityDoc | null> {
    const doc = await this.docs.findOne({ _id: id, _org: orgId });
    return doc && decode(doc);
  }

  /**
   * Entities of `schema` related to `scope` in either direction: they link to it, or it links to them.
   * Soft-deleted ones only when `withDeleted`.
   */
  async related(scope: EntityDoc, schema: string, withDeleted: boolean): Promise<EntityDoc[]> {
    const or: Filter<EntityDoc>[] = [{ '_hub.links': scope._id } as Filter<EntityDoc>];
    const forward = linkedEntityIds(scope);
    if (forward.length > 0) or.push({ _id: { $in: forward } });
    const and: Filter<EntityDoc>[] = [{ _org: scope._org }, { _schema: schema }, { $or: or }];
    if (!withDeleted) and.push({ _deleted_at: { $exists: false } });
    return (await this.docs.find({ $and: and }).toArray()).map(decode);
  }

  /** Entities of `schema` whose attributes equal every query value (nested email/phone values too). */
  async matching(
    orgId: string,
    schema: string,
    query: Record<string, unknown>,
    withDeleted: boolean,
  ): Promise<EntityDoc[]> {
    const and: Filter<EntityDoc>[] = [{ _org: orgId }, { _schema: schema }];
    if (!withDeleted) and.push({ _deleted_at: { $exists: false } });
    for (const [attribute, value] of Object.entries(query)) {
      and.push({
        $or: [{ [attribute]: value }, { [`${attribute}.email`]: value }, { [`${attribute}.phone`]: value }],
      } as Filter<EntityDoc>);
    }
    return (await this.docs.find({ $and: and }).toArray()).map(decode);
  }

  /** Purges entities soft-deleted before `cutoff` (ISO date); any organisation. Returns how many. */
  async sweepDeleted(cutoff: string): Promise<number> {
    const result = await this.docs.deleteMany({ _deleted_at: { $lt: cutoff } });
    return result.deletedCount;
  }

  /** Inserts a new entity; `false` when a concurrent creator with the same key won. */
  async create(doc: Omit<EntityDoc, '_id'> & { _id?: string }): Promise<EntityDoc | false> {
    const full = { ...doc, _id: doc._id ?? randomUUID() } as EntityDoc;
    full._hub = { ...full._hub, links: linkedEntityIds(full) };
    try {
      await this.docs.insertOne(encodeKeys(full));
      return full;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /**
   * Writes a change if the entity is still at `version` (compare-and-set, under the entity's lock);
   * `false` when another write came first. Records the update as applied and its processed message in
   * the outbox, in the same write. With `publish`, the pending outbox is published and cleared before the
   * lock is released (no re-read needed); if publishing fails the messages stay for a redelivery to send.
   */
  async update(
    current: EntityDoc,
    set: Record<string, unknown>,
    unset: string[],
    updateId: string,
    outbox: ProcessedEntityMessage,
    publish?: (pending: ProcessedEntityMessage[]) => Promise<void>,
  ): Promise<boolean> {
    const after: Record<string, unknown> = { ...current, ...set };
    for (const k of unset) delete after[k];
    const version = current._hub.version;
    const pending = [...current._hub.outbox, outbox];
    return this.locks.with(current._id, async () => {
      // Under the lock nobody else writes the entity, so the version check is a read by `_id` and the
      // write filters by `_id` alone: FerretDB pushes only a bare `_id` filter down to its storage.
      const stored = await this.docs.findOne({ _id: current._id }, { projection: { _hub: 1 } });
      if (stored?._hub.version !== version) return false;
      const result = await this.docs.updateOne(
        { _id: current._id },
        {
          $set: encodeKeys({
            ...set,
            '_hub.version': version + 1,
            '_hub.applied': [...current._hub.applied, updateId].slice(-APPLIED_KEPT),
            '_hub.outbox': pending,
            '_hub.links': linkedEntityIds(after),
          }),
          ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((k) => [k, ''])) } : {}),
        },
      );
      if (result.matchedCount !== 1) return false; // purged meanwhile
      if (publish) {
        await publish(pending);
        await this.docs.updateOne(
          { _id: current._id },
          { $set: { '_hub.outbox': [], '_hub.version': version + 2 } },
        );
      }
      return true;
    });
  }

  /**
   * Publishes an entity's pending outbox and empties it, under the entity's lock: nobody else can send
   * the same messages meanwhile, and a concurrent writer's compare-and-set sees the new version.
   */
  async drainOutbox(
    id: string,
    publish: (pending: ProcessedEntityMessage[]) => Promise<void>,
  ): Promise<void> {
    await this.locks.with(id, async () => {
      const stored = await this.docs.findOne({ _id: id });
      if (!stored) return;
      const doc = decode(stored);
      if (doc._hub.outbox.length === 0) return;
      await publish(doc._hub.outbox);
      await this.docs.updateOne(
        { _id: id },
        { $set: { '_hub.outbox': [], '_hub.version': doc._hub.version + 1 } },
      );
    });
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
    return (await this.docs.find({ $and: and }).sort({ _id: 1 }).limit(limit).toArray()).map(decode);
  }
}
