import { attributeNameProblem, uniqueIdValueProblem } from '@hub/contracts';
import { PermanentError } from '@hub/kafka';
import { entityIdFor, KeySets, keySetOf, refKey } from './keys.js';
import { lookupConditions, matchesUniqueIds } from './lookup.js';
import type { EntitiesRepository, EntityDoc } from './repository.js';

/** An entity named by its schema and unique ids (the updated entity, a relation target, a meter). */
export interface EntityRef {
  schema: string;
  uniqueIds: Record<string, unknown>;
}

/** What a ref resolves to: the stored entity, or none yet and the id it gets when it is created. */
export interface Resolution {
  doc?: EntityDoc;
  /** For a new entity: its id. For an existing one: its id too. */
  id: string;
  /** The key set a new entity is created under (recorded in `KeySets` first). */
  keySet: string;
}

/** `{ _id }` alone: the entity is named by its id (a direct read, never a create). */
export const isDirectId = (ids: Record<string, unknown>) => Object.keys(ids).length === 1 && '_id' in ids;

const describe = (ref: EntityRef) => `${ref.schema} ${JSON.stringify(ref.uniqueIds)}`;

/**
 * Unique ids are attribute names and plain values (issue 10): a reserved or operator name, or an object
 * value such as `{"$ne": null}`, can never succeed and never reaches a database filter; an empty value is
 * never a lookup of everything.
 */
export function checkUniqueIds(ref: EntityRef, where: string): void {
  const entries = Object.entries(ref.uniqueIds);
  if (entries.length === 0 || entries.some(([, v]) => v == null || v === '')) {
    throw new PermanentError(
      'UNIQUE_ID_MISSING',
      'validation',
      `${where}: ${describe(ref)} has an empty unique id`,
    );
  }
  for (const [name, value] of entries) {
    const problem = attributeNameProblem(name) ?? uniqueIdValueProblem(value);
    if (problem) {
      throw new PermanentError(
        'UNIQUE_ID_INVALID',
        'validation',
        `${where}: ${ref.schema} unique id ${JSON.stringify(name)} ${problem}`,
      );
    }
  }
}

interface Pending {
  org: string;
  ref: EntityRef;
  where: string;
  key: string;
  generation: number;
}

/** How deep the id chain of one set of unique ids may go before something is wrong. */
const MAX_GENERATIONS = 8;

/**
 * Resolves refs to entities by `_id` (ADR 9), many at once: one read by `_id` for all of them, a second
 * only for the rare ref whose derived id is held by an entity whose values have changed, and a query on
 * attributes only where an organisation uses several key sets for a schema and nothing was found by id.
 */
export class EntityResolver {
  constructor(
    private readonly repository: EntitiesRepository,
    private readonly keySets: KeySets,
  ) {}

  /** The identity of a ref within an organisation: refs with the same identity name the same entity. */
  static identity(org: string, ref: EntityRef): string {
    return isDirectId(ref.uniqueIds)
      ? `${org}\u0000${ref.schema}\u0000#${String(ref.uniqueIds._id)}`
      : `${org}\u0000${ref.schema}\u0000${refKey(ref.uniqueIds)}`;
  }

  async resolveOne(org: string, ref: EntityRef, where: string): Promise<Resolution> {
    const result = (await this.resolve([{ org, ref, where }])).get(EntityResolver.identity(org, ref))!;
    if (result instanceof PermanentError) throw result;
    return result;
  }

  /** Every ref's resolution, or the PermanentError that says why it can never resolve. */
  async resolve(
    refs: Array<{ org: string; ref: EntityRef; where: string }>,
  ): Promise<Map<string, Resolution | PermanentError>> {
    const out = new Map<string, Resolution | PermanentError>();
    let pending: Pending[] = [];
    for (const { org, ref, where } of refs) {
      const key = EntityResolver.identity(org, ref);
      if (out.has(key) || pending.some((p) => p.key === key)) continue;
      try {
        if (isDirectId(ref.uniqueIds)) {
          const id = ref.uniqueIds._id;
          if (typeof id !== 'string' || id === '') {
            throw new PermanentError(
              'ENTITY_NOT_FOUND',
              'lookup',
              `${where}: no entity with _id ${JSON.stringify(id)}`,
            );
          }
        } else {
          checkUniqueIds(ref, where);
        }
        pending.push({ org, ref, where, key, generation: 0 });
      } catch (err) {
        if (!(err instanceof PermanentError)) throw err;
        out.set(key, err);
      }
    }
    const misses: Pending[] = [];
    while (pending.length > 0) {
      const stored = await this.repository.getMany(pending.map((p) => ({ _id: idOf(p), _org: p.org })));
      const next: Pending[] = [];
      for (const p of pending) {
        const id = idOf(p);
        const doc = stored.get(id);
        if (isDirectId(p.ref.uniqueIds)) {
          out.set(p.key, direct(p, doc));
        } else if (!doc) {
          misses.push(p);
        } else if (
          doc._org === p.org &&
          doc._schema === p.ref.schema &&
          matchesUniqueIds(doc, p.ref.uniqueIds)
        ) {
          out.set(p.key, { doc, id, keySet: keySetOf(p.ref.uniqueIds) });
        } else if (p.generation + 1 >= MAX_GENERATIONS) {
          throw new Error(
            `${p.where}: no free entity id for ${describe(p.ref)} after ${MAX_GENERATIONS} tries`,
          );
        } else {
          next.push({ ...p, generation: p.generation + 1 });
        }
      }
      pending = next;
    }
    if (misses.length === 0) return out;
    // Nothing by id. Created under another key set? Only a query on attributes can tell.
    const sets = await this.keySets.read(misses.map((p) => KeySets.id(p.org, p.ref.schema)));
    for (const p of misses) {
      const keySet = keySetOf(p.ref.uniqueIds);
      const others = [...(sets.get(KeySets.id(p.org, p.ref.schema)) ?? [])].some((s) => s !== keySet);
      const found = others
        ? await this.repository.lookup(p.org, p.ref.schema, lookupConditions(p.ref.uniqueIds))
        : [];
      if (found.length > 1) {
        out.set(
          p.key,
          new PermanentError(
            'AMBIGUOUS_LOOKUP',
            'lookup',
            `${p.where}: ${found.length}+ entities match ${describe(p.ref)}`,
          ),
        );
      } else {
        out.set(p.key, { doc: found[0], id: found[0]?._id ?? idOf(p), keySet });
      }
    }
    return out;
  }
}

/**
 * The entities stored at the derived ids of these sets of unique ids, found as `resolve` finds them (by
 * `_id`, walking the generations of an id held by an entity whose values have changed), never by a
 * query on attributes: reads whose cost does not grow with the number of entities.
 */
export async function atDerivedIds(
  repository: EntitiesRepository,
  org: string,
  schema: string,
  candidates: Array<Record<string, unknown>>,
): Promise<EntityDoc[]> {
  let pending = candidates.map((uniqueIds) => ({ uniqueIds, generation: 0 }));
  const found = new Map<string, EntityDoc>();
  while (pending.length > 0) {
    const ids = pending.map((p) => entityIdFor(org, schema, p.uniqueIds, p.generation));
    const stored = await repository.getMany(ids.map((_id) => ({ _id, _org: org })));
    const next: typeof pending = [];
    pending.forEach((p, i) => {
      const doc = stored.get(ids[i]!);
      if (!doc) return; // a free id: the chain ends, nothing with these values
      if (doc._org === org && doc._schema === schema && matchesUniqueIds(doc, p.uniqueIds)) {
        found.set(doc._id, doc);
      } else if (p.generation + 1 < MAX_GENERATIONS) {
        next.push({ ...p, generation: p.generation + 1 });
      }
    });
    pending = next;
  }
  return [...found.values()].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
}

const idOf = (p: Pending) =>
  isDirectId(p.ref.uniqueIds)
    ? String(p.ref.uniqueIds._id)
    : entityIdFor(p.org, p.ref.schema, p.ref.uniqueIds, p.generation);

function direct(p: Pending, doc: EntityDoc | undefined): Resolution | PermanentError {
  const id = String(p.ref.uniqueIds._id);
  if (!doc || doc._org !== p.org) {
    return new PermanentError(
      'ENTITY_NOT_FOUND',
      'lookup',
      `${p.where}: no entity with _id ${JSON.stringify(id)}`,
    );
  }
  if (doc._schema !== p.ref.schema) {
    return new PermanentError(
      'ENTITY_SCHEMA_MISMATCH',
      'lookup',
      `${p.where}: entity ${id} is a ${doc._schema}, not a ${p.ref.schema}`,
    );
  }
  return { doc, id, keySet: '_id' };
}
