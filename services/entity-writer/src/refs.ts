import { randomUUID } from 'node:crypto';
import { attributeNameProblem, entityKey, uniqueIdValueProblem } from '@hub/contracts';
import { PermanentError } from '@hub/kafka';
import { type ArrayOperation, lastEqualIndex, upsertRefItem } from './attributes.js';
import { lookupConditions, RESERVED_ATTRIBUTES, writableAttributes } from './lookup.js';
import { type OutboxPublisher, type Provenance, processedMessage } from './outbox.js';
import { type EntitiesRepository, type EntityDoc, entityView } from './repository.js';

/** A relation target this writer created (reported in monitoring as `relation_target_created`). */
export interface CreatedTarget {
  schema: string;
  entityId: string;
  uniqueIds: Record<string, unknown>;
}

/** An entity named by its schema and unique ids (a relation item, a relation_ref target, a meter). */
export interface EntityRef {
  schema: string;
  uniqueIds: Record<string, unknown>;
}

const MAX_CAS_ATTEMPTS = 20;

/** `{ _id }` alone: the entity is named by its id (a direct read, never a create). */
export const isDirectId = (ids: Record<string, unknown>) => Object.keys(ids).length === 1 && '_id' in ids;

const describe = (ref: EntityRef) => `${ref.schema} ${JSON.stringify(ref.uniqueIds)}`;

/**
 * Unique ids are attribute names and plain values (issue 10): a reserved or operator name, or an object
 * value such as `{"$ne": null}`, can never succeed and never reaches a database filter.
 */
export function checkUniqueIds(ref: EntityRef, where: string): void {
  for (const [name, value] of Object.entries(ref.uniqueIds)) {
    const problem =
      attributeNameProblem(name) ?? (value == null || value === '' ? undefined : uniqueIdValueProblem(value));
    if (problem) {
      throw new PermanentError(
        'UNIQUE_ID_INVALID',
        'validation',
        `${where}: ${ref.schema} unique id ${JSON.stringify(name)} ${problem}`,
      );
    }
  }
}

/**
 * Finds entities by their unique ids and creates the missing ones (relation targets): lookups match all
 * unique ids; several matches, an empty id, or an `_id` that does not exist (or is of another schema)
 * can never succeed and are `PermanentError`s naming the entity and `where` it was referenced.
 */
export class EntityRefs {
  constructor(
    private readonly repository: EntitiesRepository,
    private readonly outbox: OutboxPublisher,
  ) {}

  async find(org: string, ref: EntityRef, where: string): Promise<EntityDoc | undefined> {
    if (isDirectId(ref.uniqueIds)) {
      const id = ref.uniqueIds._id;
      const doc = typeof id === 'string' && id !== '' ? await this.repository.get(org, id) : null;
      if (!doc)
        throw new PermanentError(
          'ENTITY_NOT_FOUND',
          'lookup',
          `${where}: no entity with _id ${JSON.stringify(id)}`,
        );
      if (doc._schema !== ref.schema) {
        throw new PermanentError(
          'ENTITY_SCHEMA_MISMATCH',
          'lookup',
          `${where}: entity ${id} is a ${doc._schema}, not a ${ref.schema}`,
        );
      }
      return doc;
    }
    checkUniqueIds(ref, where);
    const conditions = lookupConditions(ref.uniqueIds);
    if (conditions.length === 0 || conditions.some((c) => c.value == null || c.value === '')) {
      throw new PermanentError(
        'UNIQUE_ID_MISSING',
        'validation',
        `${where}: ${describe(ref)} has an empty unique id`,
      );
    }
    const found = await this.repository.lookup(org, ref.schema, conditions);
    if (found.length > 1) {
      throw new PermanentError(
        'AMBIGUOUS_LOOKUP',
        'lookup',
        `${where}: ${found.length}+ entities match ${describe(ref)}`,
      );
    }
    return found[0];
  }

  /**
   * Resolves every ref to an entity, creating the missing ones from their unique ids. All or nothing:
   * every ref is looked up (and checked) before anything is created.
   */
  async findOrCreateAll(
    source: Provenance,
    refs: EntityRef[],
    where: string,
    traceHeaders: Record<string, string>,
    created?: CreatedTarget[],
  ): Promise<EntityDoc[]> {
    const found = await Promise.all(refs.map((ref) => this.find(source.org_id, ref, where)));
    const out: EntityDoc[] = [];
    for (const [i, ref] of refs.entries()) {
      out.push(
        found[i] ??
          (await this.create(source, ref, `${source.update_id}|${where}|${i}`, where, traceHeaders, created)),
      );
    }
    return out;
  }

  private async create(
    source: Provenance,
    ref: EntityRef,
    changeId: string,
    where: string,
    traceHeaders: Record<string, string>,
    createdTargets?: CreatedTarget[],
  ): Promise<EntityDoc> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const now = new Date().toISOString();
      const draft = {
        _id: randomUUID(),
        _org: source.org_id,
        _schema: ref.schema,
        _created_at: now,
        _updated_at: now,
        ...writableAttributes(ref.uniqueIds),
      };
      const subject = { schema: ref.schema, entityId: draft._id, uniqueIds: ref.uniqueIds, changeId };
      const created = await this.repository.create({
        ...draft,
        _hub: {
          create_key: entityKey(source.org_id, ref.schema, ref.uniqueIds),
          version: 1,
          applied: [changeId],
          outbox: [processedMessage('created', source, subject, draft)],
        },
      });
      if (created) {
        await this.outbox.flush(created, traceHeaders, changeId);
        createdTargets?.push({ schema: ref.schema, entityId: created._id, uniqueIds: ref.uniqueIds });
        return created;
      }
      const winner = await this.find(source.org_id, ref, where); // a concurrent creator won
      if (winner) return winner;
    }
    throw new Error(`${where}: could not create ${describe(ref)} under concurrent writes; retrying later`);
  }

  /**
   * Upserts a relation_ref `value` into the `path` attribute of `target` (an equal item keeps its `_id`)
   * and returns the item's `_id`. The write is recorded as `changeId` on the target, so a redelivery
   * finds the item again instead of adding it twice.
   */
  async upsertRefValue(
    source: Provenance,
    target: EntityDoc,
    ref: EntityRef,
    path: string,
    value: unknown,
    op: ArrayOperation | undefined,
    changeId: string,
    traceHeaders: Record<string, string>,
  ): Promise<string> {
    if (RESERVED_ATTRIBUTES.has(path) || path.includes('.') || path.startsWith('$') || path === '') {
      throw new PermanentError(
        'RELATION_REF_PATH_INVALID',
        'validation',
        `${changeId}: relation_ref path ${JSON.stringify(path)} is not a writable attribute`,
      );
    }
    let current: EntityDoc | null = target;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS && current; attempt++) {
      const stored = current[path];
      if (current._hub.applied.includes(changeId)) {
        const index = Array.isArray(stored) ? lastEqualIndex(stored, value) : -1;
        const id = index >= 0 ? (stored as Array<{ _id?: unknown }>)[index]!._id : undefined;
        if (typeof id === 'string') return id;
      }
      const result = upsertRefItem(stored, value, op, randomUUID());
      if (!result.changed) return result._id;
      const set = { [path]: result.items, _updated_at: new Date().toISOString() };
      const subject = { schema: current._schema, entityId: current._id, uniqueIds: ref.uniqueIds, changeId };
      const message = processedMessage('updated', source, subject, { ...entityView(current), ...set });
      if (
        await this.repository.update(
          current,
          set,
          [],
          changeId,
          message,
          this.outbox.sender(traceHeaders, changeId),
        )
      )
        return result._id;
      current = await this.repository.get(current._org, current._id);
    }
    throw new Error(
      `${changeId}: could not write the relation_ref value under concurrent writes; retrying later`,
    );
  }
}
