import type { EntityUpdateMessage, ProcessedEntityMessage } from '@hub/contracts';
import { PermanentError } from '@hub/kafka';
import {
  type ArrayOperation,
  lastEqualIndex,
  type RelationRefLink,
  type ResolvedAttribute,
  upsertRefItem,
} from './attributes.js';
import type { KeySets } from './keys.js';
import { RESERVED_ATTRIBUTES, writableAttributes } from './lookup.js';
import { type Provenance, processedMessage, type SentChanges } from './outbox.js';
import {
  appliedChange,
  type EntitiesRepository,
  type EntityDoc,
  entityView,
  firstWrite,
  outboxMessage,
  withApplied,
  withOutbox,
} from './repository.js';
import { relationRefItems } from './resolve.js';
import type { EntityRef, EntityResolver } from './resolver.js';
import { type CreatedTarget, targetChangeId, type Unconfirmed } from './writer.js';

const MAX_CAS_ATTEMPTS = 20;

/** What a one-at-a-time write produced: messages to send, changes whose message may be missing. */
export interface SideEffects {
  messages: ProcessedEntityMessage[];
  unconfirmed: Unconfirmed[];
  current: Map<string, EntityDoc>;
  created: CreatedTarget[];
  /** Work that must wait until the messages are sent (purges, a prune's done marker). */
  afterSend: Array<() => Promise<void>>;
}

export const noSideEffects = (): SideEffects => ({
  messages: [],
  unconfirmed: [],
  current: new Map(),
  created: [],
  afterSend: [],
});

/**
 * Entity writes that happen one entity at a time, outside the batch path: finding (and creating) one
 * entity, writing relation_ref values into their targets, and compare-and-set writes for prune scopes
 * and meter lookups. Each change is recorded on the entity it changed, like the batch path's.
 */
export class EntityRefs {
  constructor(
    private readonly repository: EntitiesRepository,
    private readonly resolver: EntityResolver,
    private readonly keySets: KeySets,
    readonly sent: SentChanges,
  ) {}

  async find(org: string, ref: EntityRef, where: string): Promise<EntityDoc | undefined> {
    return (await this.resolver.resolveOne(org, ref, where)).doc;
  }

  /**
   * The entity `ref` names, created from its unique ids when missing (recorded as `changeId`); a
   * redelivery that finds the entity it created before reports that change as unconfirmed.
   */
  async findOrCreate(
    source: EntityUpdateMessage,
    ref: EntityRef,
    changeId: string,
    where: string,
    effects: SideEffects,
  ): Promise<EntityDoc> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const found = await this.resolver.resolveOne(source.org_id, ref, where);
      if (found.doc) {
        const change = appliedChange(found.doc, changeId);
        if (change) {
          const message = outboxMessage(found.doc, changeId);
          effects.unconfirmed.push({
            change,
            message,
            source,
            schema: ref.schema,
            uniqueIds: ref.uniqueIds,
            entityId: found.id,
          });
          effects.current.set(found.id, found.doc);
        }
        return found.doc;
      }
      const now = new Date().toISOString();
      const draft: EntityDoc = {
        _id: found.id,
        _org: source.org_id,
        _schema: ref.schema,
        _created_at: now,
        _updated_at: now,
        ...writableAttributes(ref.uniqueIds),
        _hub: firstWrite({ id: changeId, action: 'created', at: now }),
      };
      await this.keySets.add(source.org_id, ref.schema, found.keySet);
      const subject = { schema: ref.schema, entityId: draft._id, uniqueIds: ref.uniqueIds, changeId };
      const message = processedMessage('created', source, subject, entityView(draft));
      if ((await this.repository.insert([withOutbox(draft, [message], this.sent)])).length === 0) {
        effects.messages.push(message);
        effects.created.push({ schema: ref.schema, entityId: draft._id, uniqueIds: ref.uniqueIds });
        return draft;
      }
      // A concurrent creator won: read it.
    }
    throw new Error(`${where}: could not create ${ref.schema} under concurrent writes; retrying later`);
  }

  /** Writes `next` if the stored entity is still at `current`'s version; false when another write came first. */
  async writeOne(current: EntityDoc, next: EntityDoc): Promise<boolean> {
    const doc = { ...next, _hub: { ...next._hub, version: current._hub.version + 1 } };
    return (await this.repository.replace([{ doc, expectedVersion: current._hub.version }])).length === 0;
  }

  /**
   * Resolves an update's relation_ref attributes: each item's target is found or created, the value is
   * upserted into the target's `path` attribute (recorded as a change of the target), and the links are
   * returned for the update's own write.
   */
  async prepareRelationRefs(
    update: EntityUpdateMessage,
    effects: SideEffects,
  ): Promise<Record<string, ResolvedAttribute>> {
    const out: Record<string, ResolvedAttribute> = {};
    for (const [attribute, value] of Object.entries(writableAttributes(update.attributes))) {
      const where = `${update.entity_schema}.${attribute}`;
      const refs = relationRefItems(value, where);
      if (!refs) continue;
      const links: RelationRefLink[] = [];
      for (const [i, item] of refs.items.entries()) {
        const ref = { schema: item._schema, uniqueIds: item.$entity_unique_ids };
        const target = await this.findOrCreate(update, ref, targetChangeId(update, where, i), where, effects);
        const _id = await this.upsertRefValue(
          update,
          target,
          ref,
          item.path,
          item.value,
          item.value_operation,
          `${update.update_id}|${where}|ref${i}`,
          effects,
        );
        links.push({ entity_id: target._id, path: item.path, _id });
      }
      out[attribute] = { kind: 'relation_ref', op: refs.op, items: links };
    }
    return out;
  }

  /**
   * Upserts a relation_ref `value` into the `path` attribute of `target` (an equal item keeps its `_id`)
   * and returns the item's `_id`. The write is recorded as `changeId` on the target, so a redelivery
   * finds the item again instead of adding it twice.
   */
  private async upsertRefValue(
    source: EntityUpdateMessage,
    target: EntityDoc,
    ref: EntityRef,
    path: string,
    value: unknown,
    op: ArrayOperation | undefined,
    changeId: string,
    effects: SideEffects,
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
      const change = appliedChange(current, changeId);
      if (change) {
        const index = Array.isArray(stored) ? lastEqualIndex(stored, value) : -1;
        const id = index >= 0 ? (stored as Array<{ _id?: unknown }>)[index]!._id : undefined;
        if (typeof id === 'string') {
          effects.unconfirmed.push({
            change,
            message: outboxMessage(current, changeId),
            source,
            schema: current._schema,
            uniqueIds: ref.uniqueIds,
            entityId: current._id,
          });
          effects.current.set(current._id, current);
          return id;
        }
      }
      const result = upsertRefItem(stored, value, op, crypto.randomUUID());
      if (!result.changed) return result._id;
      const now = new Date().toISOString();
      const next = withApplied(
        { ...current, [path]: result.items, _updated_at: now },
        { id: changeId, action: 'updated', at: now },
      );
      const subject = { schema: current._schema, entityId: current._id, uniqueIds: ref.uniqueIds, changeId };
      const message = processedMessage('updated', source as Provenance, subject, entityView(next));
      if (await this.writeOne(current, withOutbox(next, [message], this.sent, current))) {
        effects.messages.push(message);
        return result._id;
      }
      current = await this.repository.get(current._org, current._id);
    }
    throw new Error(
      `${changeId}: could not write the relation_ref value under concurrent writes; retrying later`,
    );
  }
}
