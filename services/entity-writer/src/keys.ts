import { canonicalJson, nameUuid } from '@hub/contracts';
import type { MongoStore } from '@hub/mongo';
import { lookupConditions } from './lookup.js';

/**
 * How an entity is found by its unique ids without a query on attributes (ADR 9): its `_id` is derived
 * from (organisation, schema, unique-id values), so a lookup is a read by `_id` — the one read that
 * costs the same on MongoDB and on FerretDB, whatever the number of entities.
 *
 * - `entityIdFor(org, schema, ids, 0)` is the id an entity created with those unique ids gets. Should
 *   that id be taken by an entity whose values have since changed (a direct `{_id}` update rewrote a
 *   unique-id attribute), the next generation is used, and so on: a lookup walks the chain until it finds
 *   a matching entity or a free id, and concurrent creators still agree on the id.
 * - The names of the unique ids (the key set) matter: `{customer_number}` and `{email}` give different
 *   ids for the same entity. `KeySets` records, per organisation and schema, every key set entities were
 *   created or looked up with; when there is more than one, a lookup that finds nothing by id also
 *   queries the attributes (as before this design), so an entity created under one key set is still
 *   found under another.
 */
export function entityIdFor(
  org: string,
  schema: string,
  uniqueIds: Record<string, unknown>,
  generation = 0,
): string {
  return nameUuid(`entity\u0000${org}\u0000${schema}\u0000${refKey(uniqueIds)}\u0000${generation}`);
}

/** The canonical form of a set of unique-id values: what an entity must match (email/phone: the nested value). */
export function refKey(uniqueIds: Record<string, unknown>): string {
  const conditions = lookupConditions(uniqueIds).sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  return canonicalJson(conditions.map((c) => [c.path, c.value]));
}

/** The attribute names of a set of unique ids, sorted: what `KeySets` records. */
export function keySetOf(uniqueIds: Record<string, unknown>): string {
  return Object.keys(uniqueIds).sort().join('\u0001');
}

interface KeySetDoc {
  _id: string;
  sets: string[];
}

/**
 * The key sets used per (organisation, schema), in collection `entity_key_sets` (one small document
 * each, read by `_id`). A set is only ever added, and is added before the first entity is created under
 * it. A lookup that found nothing by id reads the sets afresh (once per batch) before it decides that
 * nothing exists: two instances creating the same entity under two different key sets at the same moment
 * can still both create it, as they could before this design (ADR 9).
 */
export class KeySets {
  private readonly docs;
  /** Sets known to be recorded, so `add` writes only once per instance. */
  private readonly recorded = new Set<string>();

  constructor(store: MongoStore) {
    this.docs = store.collection<KeySetDoc>('entity_key_sets');
  }

  static id(org: string, schema: string) {
    return `${org}\u0000${schema}`;
  }

  /** The recorded key sets of each (org, schema) id (`KeySets.id`), read now. */
  async read(ids: string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    if (ids.length === 0) return out;
    for (const doc of await this.docs.find({ _id: { $in: [...new Set(ids)] } }).toArray()) {
      out.set(doc._id, new Set(doc.sets));
    }
    return out;
  }

  /** Records `set` for (org, schema) before an entity is created under it. */
  async add(org: string, schema: string, set: string): Promise<void> {
    const id = KeySets.id(org, schema);
    const key = `${id}\u0002${set}`;
    if (this.recorded.has(key)) return;
    await this.docs.updateOne({ _id: id }, { $addToSet: { sets: set } }, { upsert: true });
    if (this.recorded.size > 100_000) this.recorded.clear();
    this.recorded.add(key);
  }
}
