import { randomUUID } from 'node:crypto';
import type { ProcessedEntityMessage } from '@hub/contracts';
import {
  type Collection,
  type Filter,
  insertManyNew,
  type MongoStore,
  sweepMatching,
  timeLimit,
} from '@hub/mongo';
import { linkedEntityIds } from './attributes.js';
import type { LookupCondition } from './lookup.js';
import { decodeKeys, encodeKeys } from './storage-keys.js';

/** A change the entity recorded (newest last): how a redelivered update is recognised (ADR 4, 9). */
export interface AppliedChange {
  /** The update id, or the change id of a relation target created or written on the way. */
  id: string;
  action: 'created' | 'updated' | 'deleted';
  /** When it was written (ISO): the processed-entity topic is searched from a little before it. */
  at: string;
}

/** How an entity is stored: its attributes at the top level, our bookkeeping under `_hub`. */
export interface EntityDoc {
  _id: string;
  _org: string;
  _schema: string;
  _created_at: string;
  _updated_at: string;
  _deleted_at?: string;
  _hub: {
    /** Bumped by every write; writes compare-and-set on it. */
    version: number;
    /**
     * The last changes applied (`storedChange`), one per line, oldest first. Entities written before
     * 2026-12 hold them as an array of those strings; both are read (`appliedChanges`).
     */
    applied: string | string[];
    /**
     * The processed-entity messages of the entity's recent writes, as written (`withOutbox`): what a
     * redelivery sends if they never reached the topic (the writer died between the write and the send).
     * Never cleared on sending; older ones drop out as later writes come.
     */
    outbox?: string | string[];
    /** Entity ids this entity links to (`$relation` / `$relation_ref`), for reverse lookups by prune scopes. */
    links?: string[];
    /** Set when the entity is about to be purged (its processed message is being sent). */
    purging?: true;
    /** A token per write, to tell which of two racing writes was stored. */
    write?: string;
  };
  [attribute: string]: unknown;
}

/**
 * Changes kept per entity. A redelivery replays at most the messages after the last committed offset,
 * which is one handler call, and a call never gives one entity more than this many changes: every change
 * of a redelivered call is found here. Every write rewrites the whole list (about 45 bytes a change), so
 * it is sized for a hot entity's burst (docs/adr/0009, amended 2026-12: 20 made 1,000 ordered updates
 * of one entity 50 writes in a row, the benchmark's ordering figure).
 */
export const APPLIED_KEPT = 100;

/** How long a soft-deleted entity is kept before the sweeper purges it. */
export const SOFT_DELETE_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

const decode = (doc: EntityDoc): EntityDoc => decodeKeys(doc);

/** Public view of an entity: everything but our bookkeeping. */
export function entityView(doc: EntityDoc): Record<string, unknown> {
  const { _hub, _deleted_at, ...rest } = doc;
  return rest;
}

/**
 * A change as stored: `<c|u|d><time in ms> <id>`, a backslash or a line break in the id escaped (`\\`,
 * `\n`), so that changes can be joined by line breaks. Every read and write of an entity carries the
 * last `APPLIED_KEPT`, and one string costs the database far less than a small document or an array of
 * strings: FerretDB spent 3.6 ms of CPU reading and writing back an entity with 100 changes stored as an
 * array, 1.5 ms with the same changes as one string (ADR 9, amended 2026-12).
 */
export function storedChange(change: AppliedChange): string {
  return `${change.action[0]}${Date.parse(change.at)} ${escapeId(change.id)}`;
}

const escapeId = (id: string) => (/[\\\n]/.test(id) ? id.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : id);
const unescapeId = (id: string) =>
  id.includes('\\') ? id.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')) : id;

const ACTIONS = { c: 'created', u: 'updated', d: 'deleted' } as const;

function parseChange(stored: string): AppliedChange {
  const space = stored.indexOf(' ');
  return {
    action: ACTIONS[stored[0] as keyof typeof ACTIONS],
    at: new Date(Number(stored.slice(1, space))).toISOString(),
    id: unescapeId(stored.slice(space + 1)),
  };
}

/** The changes an entity recorded, as stored (`storedChange`), oldest first, in either stored form. */
export function appliedChanges(doc: Pick<EntityDoc, '_hub'>): string[] {
  const applied = doc._hub.applied;
  // The array form stored ids as they were: escaped here, so both forms compare and join alike.
  if (Array.isArray(applied))
    return applied.map((c) => c.slice(0, c.indexOf(' ') + 1) + escapeId(c.slice(c.indexOf(' ') + 1)));
  return applied === '' ? [] : applied.split('\n');
}

/** A new entity's bookkeeping: version 1, its first change. */
export const firstWrite = (change: AppliedChange): EntityDoc['_hub'] => ({
  version: 1,
  applied: storedChange(change),
});

/** `doc` with its change recorded (the list trimmed to `APPLIED_KEPT`, stored as one string). */
export function withApplied(doc: EntityDoc, change: AppliedChange): EntityDoc {
  const applied = [...appliedChanges(doc), storedChange(change)].slice(-APPLIED_KEPT).join('\n');
  return { ...doc, _hub: { ...doc._hub, applied } };
}

export function appliedChange(doc: EntityDoc | undefined, id: string): AppliedChange | undefined {
  if (!doc) return undefined;
  const suffix = ` ${escapeId(id)}`;
  const found = appliedChanges(doc).find(
    (c) => c.endsWith(suffix) && c.indexOf(' ') === c.length - suffix.length,
  );
  return found === undefined ? undefined : parseChange(found);
}

/**
 * A processed-entity message as an entity's outbox keeps it: the last message of a write whose entity is
 * the entity as written (created, updated) is kept without it; `outboxMessage` puts it back.
 */
export type OutboxMessage = Omit<ProcessedEntityMessage, 'entity'> & {
  entity?: Record<string, unknown>;
  /** Where the update that made it was read, `<topic>/<partition>/<offset>` (`OutboxKnowledge.originOf`). */
  _origin?: string;
};

/**
 * What a write knows about the messages in an entity's outbox: which ones reached the topic (`has`, this
 * process's sends), and, for a call of the consumer, which updates are behind it in their partition
 * (`settled`): their messages were sent or their offsets committed before this call was handed over
 * (ADR 9, amended: outboxes after a restart or a rebalance).
 */
export interface OutboxKnowledge {
  has(changeId: string): boolean;
  /** Whether every message of the update read at `origin` is known to have reached the topic. */
  settled?(origin: string): boolean;
  /** Where the update `updateId` was read, stored with its messages for a later write's `settled`. */
  originOf?(updateId: string): string | undefined;
}

/**
 * The outbox's messages. Stored as one string, a message's JSON per line (JSON text has no raw line
 * break): a string costs the database far less to encode than the same messages as nested documents or
 * as an array of strings (FerretDB: 5.1 against 9.0 ms of CPU to read and write back an entity with 100
 * messages; ADR 9, amended 2026-12), and the outbox is only ever read back whole. Entities written
 * before hold an array of those JSON strings, read alike.
 */
export function outboxOf(doc: Pick<EntityDoc, '_hub'>): OutboxMessage[] {
  const stored = doc._hub.outbox ?? [];
  const lines = Array.isArray(stored) ? stored : stored === '' ? [] : stored.split('\n');
  return lines.map((m) => JSON.parse(m) as OutboxMessage);
}

/** The message a change left in the entity's outbox (its entity filled in from `doc`), if it is there. */
export function outboxMessage(doc: EntityDoc, changeId: string): ProcessedEntityMessage | undefined {
  const found = outboxOf(doc).find((o) => o.meta.change_id === changeId);
  if (!found) return undefined;
  const { _origin, ...m } = found;
  return { ...m, entity: m.entity ?? entityView(doc) };
}

/** How long a message stays in an entity's outbox after its write (a redelivery comes within minutes). */
export const OUTBOX_KEPT_MS = 5 * 60 * 1000;

/**
 * `doc` as written with the messages of this write in its outbox, after those of its earlier writes that
 * may not have been sent: not known (`known`) to have reached the topic, younger than `OUTBOX_KEPT_MS`,
 * at most `APPLIED_KEPT` in all. An earlier write whose messages were never sent may be followed by
 * another before a redelivery comes (a batch retried after a partial write, a write from another
 * partition), and the redelivery must still find them as they were. In the steady state every earlier
 * message is known sent, and the outbox holds this write's messages only; after a restart or a
 * rebalance this process knows none of the earlier sends, and the update's position in its partition
 * says which are behind it (`OutboxKnowledge.settled`).
 */
export function withOutbox(
  doc: EntityDoc,
  messages: ProcessedEntityMessage[],
  known: OutboxKnowledge,
  previous?: EntityDoc,
  now = Date.now(),
): EntityDoc {
  const fresh = new Set(messages.map((m) => m.meta.change_id));
  // An earlier message kept without its entity was the last of its write: its entity is `previous`.
  const kept = outboxOf(doc)
    .filter(
      (m) =>
        !fresh.has(m.meta.change_id) &&
        !known.has(m.meta.change_id) &&
        !(m._origin !== undefined && known.settled?.(m._origin)) &&
        now - Date.parse(m.meta.processed_at) < OUTBOX_KEPT_MS,
    )
    .map((m) => (m.entity || !previous ? m : { ...m, entity: entityView(previous) }));
  const last = messages.at(-1);
  const stored: OutboxMessage[] = messages.map((m) => {
    const origin = known.originOf?.(m.source.update_id);
    const withOrigin: OutboxMessage = origin === undefined ? m : { ...m, _origin: origin };
    if (m !== last || m.action === 'deleted') return withOrigin;
    const { entity: _asWritten, ...rest } = withOrigin;
    return rest;
  });
  const outbox = [...kept, ...stored]
    .slice(-APPLIED_KEPT)
    .map((m) => JSON.stringify(m))
    .join('\n');
  return { ...doc, _hub: { ...doc._hub, outbox } };
}

/** A stored entity and the version a write expects to find (compare-and-set). */
export interface Replacement {
  doc: EntityDoc;
  expectedVersion: number;
}

/**
 * Entities (collection `entities`), always scoped by organisation. The only user of that collection. Its
 * indexes (libs/mongo plan.ts) serve search and lookup on attributes, prune scopes and the purge.
 */
export class EntitiesRepository {
  readonly docs: Collection<EntityDoc>;

  constructor(private readonly store: MongoStore) {
    this.docs = store.collection<EntityDoc>('entities');
  }

  /**
   * The stored entities with these ids, each looked for in its organisation. One query per organisation,
   * `{_org, _id}`: on a sharded cluster (shard key `{_org: 1, _id: 1}`, docs/adr/0013) it goes to the one
   * shard holding them, and FerretDB still answers it from its `_id` index (ADR 8).
   */
  async getMany(keys: EntityKey[]): Promise<Map<string, EntityDoc>> {
    const out = new Map<string, EntityDoc>();
    await Promise.all(
      [...idsByOrg(keys)].map(async ([org, ids]) => {
        const filter = (
          ids.length === 1 ? { _id: ids[0], _org: org } : { _id: { $in: ids }, _org: org }
        ) as Filter<EntityDoc>;
        for (const doc of await this.docs.find(filter).toArray()) out.set(doc._id, decode(doc));
      }),
    );
    return out;
  }

  async get(orgId: string, id: string): Promise<EntityDoc | null> {
    const doc = await this.docs.findOne({ _id: id, _org: orgId });
    return doc && decode(doc);
  }

  /** Up to `limit` entities (deleted ones included) matching every condition: a query on attributes. */
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

  /**
   * Purges entities soft-deleted before `cutoff` (ISO date); any organisation. Returns how many. Read from
   * the `deleted_at` index on MongoDB and FerretDB alike (sweepMatching; docs/adr/0017).
   */
  async sweepDeleted(cutoff: string): Promise<number> {
    return sweepMatching(this.store, 'entities', { _deleted_at: { $lt: cutoff } });
  }

  /** Inserts new entities in one command; returns the ids another writer created first. */
  async insert(docs: EntityDoc[]): Promise<string[]> {
    return insertManyNew(
      this.docs,
      docs.map((d) => encodeKeys(withLinks(d))),
    );
  }

  /**
   * Writes each entity if it is still at its expected version (compare-and-set, one command for all);
   * returns the ids that another write changed first (nothing was written for those).
   */
  async replace(items: Replacement[]): Promise<string[]> {
    if (items.length === 0) return [];
    // Each write carries a token of its own: two writers that raced from the same version write the
    // same version number, and only the token tells whose write is stored.
    const written = items.map(({ doc }) => ({ ...doc, _hub: { ...doc._hub, write: randomUUID() } }));
    const result = await this.docs.bulkWrite(
      written.map((doc, i) => ({
        replaceOne: {
          filter: {
            _id: doc._id,
            _org: doc._org,
            '_hub.version': items[i]!.expectedVersion,
          } as Filter<EntityDoc>,
          replacement: encodeKeys(withLinks(doc)),
        },
      })),
      { ordered: false },
    );
    if (result.matchedCount === items.length) return [];
    const stored = await this.getMany(written);
    return written.filter((doc) => stored.get(doc._id)?._hub.write !== doc._hub.write).map((doc) => doc._id);
  }

  /** Removes these entities for good (one delete per organisation, routed by `{_org, _id}`). */
  async purge(keys: EntityKey[]): Promise<void> {
    await Promise.all(
      [...idsByOrg(keys)].map(([org, ids]) =>
        this.docs.deleteMany(
          (ids.length === 1
            ? { _id: ids[0], _org: org }
            : { _id: { $in: ids }, _org: org }) as Filter<EntityDoc>,
        ),
      ),
    );
  }

  /** Exact-match search on attributes (nested email/phone values too), keyset-paginated by id. */
  async search(
    orgId: string,
    schema: string,
    where: Record<string, string>,
    limit: number,
    after: string | undefined,
    maxMs?: number,
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
    // On FerretDB no index serves this query: it reads every organisation's entities.
    const limits = maxMs ? timeLimit(maxMs) : {};
    return (await this.docs.find({ $and: and }, limits).sort({ _id: 1 }).limit(limit).toArray()).map(decode);
  }
}

/** The entity with `_hub.links` derived from its relation attributes (what prune scopes query). */
function withLinks(doc: EntityDoc): EntityDoc {
  return { ...doc, _hub: { ...doc._hub, links: linkedEntityIds(doc) } };
}

/** An entity's identity with its organisation: `_org` is the shard key's prefix, so every by-id query carries it. */
export interface EntityKey {
  _id: string;
  _org: string;
}

/** Distinct ids grouped by organisation. */
function idsByOrg(keys: EntityKey[]): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const { _id, _org } of keys) {
    const ids = out.get(_org) ?? new Set<string>();
    out.set(_org, ids.add(_id));
  }
  return new Map([...out].map(([org, ids]) => [org, [...ids]]));
}
