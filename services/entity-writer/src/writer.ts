import type { EntityUpdateMessage, ProcessedEntityMessage } from '@hub/contracts';
import { PermanentError } from '@hub/kafka';
import { mergeAttributes, type RelationLink, type ResolvedAttribute } from './attributes.js';
import type { KeySets } from './keys.js';
import { writableAttributes } from './lookup.js';
import { type CallOrigins, type Provenance, processedMessage, type SentChanges } from './outbox.js';
import {
  type AppliedChange,
  appliedChange,
  type EntitiesRepository,
  type EntityDoc,
  type EntityKey,
  entityView,
  firstWrite,
  outboxMessage,
  withApplied,
  withOutbox,
} from './repository.js';
import { relationItems, relationRefItems } from './resolve.js';
import { type EntityRef, EntityResolver, isDirectId, type Resolution } from './resolver.js';

export type WriteOutcome =
  | 'created'
  | 'updated'
  | 'deleted'
  | 'purged'
  | 'already_applied'
  | 'nothing_to_delete';

/** A relation target this writer created (reported in monitoring as `relation_target_created`). */
export interface CreatedTarget {
  schema: string;
  entityId: string;
  uniqueIds: Record<string, unknown>;
}

/** What a write did besides its outcome, for its monitoring records. */
export interface WriteNotes {
  /** Relation targets created on the way. */
  created: CreatedTarget[];
  /** The entity written (absent when there was none to delete). */
  entityId?: string;
}

/** The result of one update of a batch. */
export type UpdateResult =
  | { ok: true; outcome: WriteOutcome; notes: WriteNotes }
  | { ok: false; error: PermanentError };

/** A change recorded before this batch: its processed message may or may not have been sent (ADR 4). */
export interface Unconfirmed {
  change: AppliedChange;
  /** The message as its write left it in the entity's outbox (absent: a later write replaced it). */
  message?: ProcessedEntityMessage;
  source: Provenance;
  schema: string;
  uniqueIds: Record<string, unknown>;
  entityId: string;
}

/** What a batch wrote, for the caller to publish before it commits the offsets. */
export interface BatchWrite {
  results: UpdateResult[];
  /** The processed-entity messages of the changes this batch made, in order. */
  messages: ProcessedEntityMessage[];
  /** Changes found applied by an earlier delivery: send those not on the topic yet. */
  unconfirmed: Unconfirmed[];
  /** The current state of the entities of `unconfirmed` (a re-sent message carries it). */
  current: Map<string, EntityDoc>;
  /** Entities to remove once their `deleted` messages are sent (purge). */
  purge: EntityKey[];
  /** Runs the purges; call it once the messages are sent. */
  afterSend: Array<() => Promise<void>>;
}

/** Two writes raced for an entity (another partition's relation target, a rebalance): retry the batch. */
export class WriteConflictError extends Error {
  constructor(ids: string[]) {
    super(
      `another write changed ${ids.length} entit${ids.length === 1 ? 'y' : 'ies'} first (${ids.slice(0, 3).join(', ')}); retrying`,
    );
  }
}

/** One entity as the batch will write it. */
interface Working {
  doc: EntityDoc;
  /** The entity as read before this batch (absent for a new one). */
  stored?: EntityDoc;
  /** The version the write expects (compare-and-set); undefined for a new entity. */
  baseVersion?: number;
  /** A new entity's key set (recorded before it is inserted). */
  keySet?: string;
  purge: boolean;
}

/**
 * Applies entity updates (`kind: entity`, without relation_refs) in batches (ADR 9): every entity the
 * batch names, and every relation target, is resolved by `_id` at once; the updates are applied in order
 * to the entities in memory, so several updates of one entity become one write; new entities are inserted
 * in one command and changed ones written in one compare-and-set command. An entity records each change
 * it received (`_hub.applied`), so a redelivered update changes nothing and only its processed message is
 * sent again if it never reached the topic.
 */
export class EntityWriter {
  constructor(
    private readonly repository: EntitiesRepository,
    private readonly resolver: EntityResolver,
    private readonly keySets: KeySets,
    private readonly sent: SentChanges,
  ) {}

  /**
   * Applies the updates in order and writes the result. `prepared` holds attributes already resolved
   * by the caller (relation_refs, which write other entities first), by update id. `origins` says where
   * the consumer read them: stored with their messages, and what tells which earlier messages in the
   * entities' outboxes are behind this call (`CallOrigins`).
   */
  async apply(
    updates: EntityUpdateMessage[],
    prepared: Map<string, Record<string, ResolvedAttribute>> = new Map(),
    origins?: CallOrigins,
  ): Promise<BatchWrite> {
    const resolutions = await this.resolver.resolve(updates.flatMap((u) => refsOf(u)));
    const state = new Map<string, Working>();
    const batch: BatchWrite = {
      results: [],
      messages: [],
      unconfirmed: [],
      current: new Map(),
      purge: [],
      afterSend: [],
    };
    const appliedHere = new Set<string>();
    const budget = new OutboxBudget();
    for (const update of updates) {
      // One more change of a large entity would make its outbox too big for one write: the batch ends
      // here, and the caller hands the rest over again (`results` covers the updates taken).
      if (!budget.admits(update, resolutions, state)) break;
      // Each update is staged on its own: a failure leaves the others' changes as they are.
      const staged = new Stage(state);
      try {
        const result = this.applyOne(
          update,
          resolutions,
          staged,
          batch,
          appliedHere,
          prepared.get(update.update_id),
        );
        staged.commit();
        batch.messages.push(...staged.messages);
        batch.results.push(result);
      } catch (err) {
        if (!(err instanceof PermanentError)) throw err;
        batch.results.push({ ok: false, error: err });
      }
    }
    // Each entity written carries the messages of this write (its outbox) in the same write.
    const outboxes = new Map<string, ProcessedEntityMessage[]>();
    for (const m of batch.messages) outboxes.set(m.entity_id, [...(outboxes.get(m.entity_id) ?? []), m]);
    const known = origins?.with(this.sent) ?? this.sent;
    for (const w of state.values()) w.doc = withOutbox(w.doc, outboxes.get(w.doc._id) ?? [], known, w.stored);
    await this.write(state, batch);
    if (batch.purge.length > 0) batch.afterSend.push(() => this.repository.purge(batch.purge));
    return batch;
  }

  private applyOne(
    update: EntityUpdateMessage,
    resolutions: Map<string, Resolution | PermanentError>,
    stage: Stage,
    batch: BatchWrite,
    appliedHere: Set<string>,
    prepared: Record<string, ResolvedAttribute> = {},
  ): Extract<UpdateResult, { ok: true }> {
    const where = `update ${update.update_id} (${update.entity_schema})`;
    const notes: WriteNotes = { created: [] };
    const own = resolved(resolutions, update.org_id, ownRef(update), where);
    const current = stage.get(own.id) ?? own.doc;
    notes.entityId = current?._id;
    if (appliedChange(current, update.update_id)) {
      if (!appliedHere.has(update.update_id)) {
        // Once per call: a second copy of the update (a mapper redelivery) has nothing more to check.
        appliedHere.add(update.update_id);
        this.unconfirmedOf(update, current!, resolutions, stage, batch);
        // A purge whose delivery died after its message was written: finish it.
        if (current!._hub.purging) batch.purge.push({ _id: current!._id, _org: current!._org });
      }
      return { ok: true, outcome: 'already_applied', notes };
    }
    appliedHere.add(update.update_id);
    const now = new Date().toISOString();
    const change = (action: AppliedChange['action']) => ({ id: update.update_id, action, at: now });
    const subject = (entityId: string) => ({
      schema: update.entity_schema,
      entityId,
      uniqueIds: update.unique_ids,
      changeId: update.update_id,
    });

    if (update.mode === 'delete' || update.mode === 'purge') {
      if (!current || (current._deleted_at && update.mode === 'delete')) {
        return { ok: true, outcome: 'nothing_to_delete', notes };
      }
      stage.message(processedMessage('deleted', update, subject(current._id), entityView(current)));
      const deleted = withApplied(
        { ...current, _deleted_at: current._deleted_at ?? now, _updated_at: now },
        change('deleted'),
      );
      if (update.mode === 'purge') deleted._hub = { ...deleted._hub, purging: true };
      stage.put(deleted, own.doc, update.mode === 'purge');
      return { ok: true, outcome: update.mode === 'purge' ? 'purged' : 'deleted', notes };
    }
    if (!current && isDirectId(update.unique_ids)) {
      throw new PermanentError('ENTITY_NOT_FOUND', 'lookup', `${where}: not found`);
    }

    const resolvedAttributes = {
      ...this.resolveRelations(update, resolutions, stage, notes, now),
      ...prepared,
    };
    if (!current) {
      const draft: EntityDoc = {
        _id: own.id,
        _org: update.org_id,
        _schema: update.entity_schema,
        _created_at: now,
        _updated_at: now,
        ...mergeAttributes(undefined, resolvedAttributes),
        _hub: firstWrite(change('created')),
      };
      stage.create(draft, own.keySet);
      stage.message(processedMessage('created', update, subject(draft._id), entityView(draft)));
      notes.entityId = draft._id;
      return { ok: true, outcome: 'created', notes };
    }
    const { _deleted_at: _revived, ...rest } = current;
    const next = withApplied(
      { ...rest, ...mergeAttributes(current, resolvedAttributes), _updated_at: now } as EntityDoc,
      change('updated'),
    );
    stage.put(next, own.doc, false);
    stage.message(processedMessage('updated', update, subject(current._id), entityView(next)));
    return { ok: true, outcome: 'updated', notes };
  }

  /**
   * `$relation` attributes become links to entity ids; a missing target is created from its unique ids
   * (with its own `created` message and change id), all or nothing per update.
   */
  private resolveRelations(
    update: EntityUpdateMessage,
    resolutions: Map<string, Resolution | PermanentError>,
    stage: Stage,
    notes: WriteNotes,
    now: string,
  ): Record<string, ResolvedAttribute> {
    const out: Record<string, ResolvedAttribute> = {};
    for (const [attribute, value] of Object.entries(writableAttributes(update.attributes))) {
      const where = `${update.entity_schema}.${attribute}`;
      if (relationRefItems(value, where)) continue; // prepared by the caller
      const relation = relationItems(value, where);
      if (!relation) {
        out[attribute] = attributeValue(value);
        continue;
      }
      const links: RelationLink[] = relation.items.map((item, i) => {
        const ref = { schema: item._schema, uniqueIds: item.$entity_unique_ids };
        const target = resolved(resolutions, update.org_id, ref, where);
        const existing = stage.get(target.id) ?? target.doc;
        if (!existing) {
          const changeId = targetChangeId(update, where, i);
          const draft: EntityDoc = {
            _id: target.id,
            _org: update.org_id,
            _schema: ref.schema,
            _created_at: now,
            _updated_at: now,
            ...writableAttributes(ref.uniqueIds),
            _hub: firstWrite({ id: changeId, action: 'created', at: now }),
          };
          stage.create(draft, target.keySet);
          const subject = { schema: ref.schema, entityId: draft._id, uniqueIds: ref.uniqueIds, changeId };
          stage.message(processedMessage('created', update, subject, entityView(draft)));
          notes.created.push({ schema: ref.schema, entityId: draft._id, uniqueIds: ref.uniqueIds });
        }
        return {
          entity_id: target.id,
          _schema: item._schema,
          _tags: Array.isArray(item._tags) ? item._tags : [],
        };
      });
      out[attribute] = { kind: 'relation', op: relation.op, items: links };
    }
    return out;
  }

  /** A redelivered update: the changes it made (the entity's, the targets it created) whose message may be missing. */
  private unconfirmedOf(
    update: EntityUpdateMessage,
    entity: EntityDoc,
    resolutions: Map<string, Resolution | PermanentError>,
    stage: Stage,
    batch: BatchWrite,
  ): void {
    const add = (doc: EntityDoc, id: string, schema: string, uniqueIds: Record<string, unknown>) => {
      const change = appliedChange(doc, id);
      if (!change) return;
      const message = outboxMessage(doc, id);
      batch.unconfirmed.push({ change, message, source: update, schema, uniqueIds, entityId: doc._id });
      batch.current.set(doc._id, doc);
    };
    add(entity, update.update_id, update.entity_schema, update.unique_ids);
    for (const [attribute, value] of Object.entries(writableAttributes(update.attributes))) {
      const where = `${update.entity_schema}.${attribute}`;
      relationItems(value, where)?.items.forEach((item, i) => {
        const ref = { schema: item._schema, uniqueIds: item.$entity_unique_ids };
        const target = resolutions.get(EntityResolver.identity(update.org_id, ref));
        if (!target || target instanceof PermanentError) return;
        const doc = stage.get(target.id) ?? target.doc;
        if (doc) add(doc, targetChangeId(update, where, i), ref.schema, ref.uniqueIds);
      });
    }
  }

  /** New entities in one insert, changed ones in one compare-and-set write; a lost race fails the batch. */
  private async write(state: Map<string, Working>, batch: BatchWrite): Promise<void> {
    const created = [...state.values()].filter((w) => w.baseVersion === undefined && !w.purge);
    const changed = [...state.values()].filter((w) => w.baseVersion !== undefined);
    for (const w of created) await this.keySets.add(w.doc._org, w.doc._schema, w.keySet!);
    const [taken, lost] = await Promise.all([
      this.repository.insert(created.map((w) => w.doc)),
      this.repository.replace(changed.map((w) => ({ doc: w.doc, expectedVersion: w.baseVersion! }))),
    ]);
    if (taken.length > 0 || lost.length > 0) throw new WriteConflictError([...taken, ...lost]);
    batch.purge.push(...changed.filter((w) => w.purge).map((w) => ({ _id: w.doc._id, _org: w.doc._org })));
  }
}

/** The refs an update needs resolved: its own entity and its relation targets. */
function refsOf(update: EntityUpdateMessage): Array<{ org: string; ref: EntityRef; where: string }> {
  const where = `update ${update.update_id} (${update.entity_schema})`;
  const out = [{ org: update.org_id, ref: ownRef(update), where }];
  if (update.mode !== 'upsert') return out;
  for (const [attribute, value] of Object.entries(writableAttributes(update.attributes))) {
    const at = `${update.entity_schema}.${attribute}`;
    try {
      for (const item of relationItems(value, at)?.items ?? []) {
        out.push({
          org: update.org_id,
          ref: { schema: item._schema, uniqueIds: item.$entity_unique_ids },
          where: at,
        });
      }
    } catch {
      // reported when the update is applied
    }
  }
  return out;
}

/**
 * The bytes one write may put in one entity's outbox (its processed messages, each carrying the entity):
 * well under MongoDB's 16 MiB document limit with the entity beside it.
 */
export const OUTBOX_BUDGET_BYTES = 4 * 1024 * 1024;

/** Up to this many changes of one entity per write are taken whatever its size (nothing is measured). */
const CHANGES_ALWAYS_TAKEN = 4;

/**
 * Counts the changes each entity receives in one `apply`, and ends the batch before an entity's change
 * whose processed message (one entity view each) would take its outbox past `OUTBOX_BUDGET_BYTES`. The
 * entity's size is measured once, when it reaches `CHANGES_ALWAYS_TAKEN` changes, so the usual batch
 * (a few changes per entity) measures nothing; a 1 MB entity gets 4 changes per write, a 2 KB one
 * `APPLIED_KEPT` (the caller's cap).
 */
class OutboxBudget {
  private readonly changes = new Map<string, number>();
  private readonly limits = new Map<string, number>();

  admits(
    update: EntityUpdateMessage,
    resolutions: Map<string, Resolution | PermanentError>,
    state: Map<string, Working>,
  ): boolean {
    const own = resolutions.get(EntityResolver.identity(update.org_id, ownRef(update)));
    if (!own || own instanceof PermanentError) return true; // applyOne reports it
    const count = this.changes.get(own.id) ?? 0;
    if (count >= CHANGES_ALWAYS_TAKEN) {
      let limit = this.limits.get(own.id);
      if (limit === undefined) {
        const doc = state.get(own.id)?.doc ?? own.doc;
        const bytes = doc ? JSON.stringify(entityView(doc)).length + 512 : 512;
        limit = Math.max(CHANGES_ALWAYS_TAKEN, Math.floor(OUTBOX_BUDGET_BYTES / bytes));
        this.limits.set(own.id, limit);
      }
      if (count >= limit) return false;
    }
    this.changes.set(own.id, count + 1);
    return true;
  }
}

const ownRef = (update: EntityUpdateMessage): EntityRef => ({
  schema: update.entity_schema,
  uniqueIds: update.unique_ids,
});

/** The change id of the i-th relation target an update created (recorded on the target). */
export const targetChangeId = (update: { update_id: string }, where: string, i: number) =>
  `${update.update_id}|${where}|${i}`;

function resolved(
  resolutions: Map<string, Resolution | PermanentError>,
  org: string,
  ref: EntityRef,
  where: string,
): Resolution {
  const r = resolutions.get(EntityResolver.identity(org, ref));
  if (!r) throw new Error(`${where}: ${ref.schema} was not resolved`);
  if (r instanceof PermanentError) throw r;
  return r;
}

function attributeValue(value: unknown): ResolvedAttribute {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const items = (value as Record<string, unknown>)[keys[0] ?? ''];
    if (keys.length === 1 && ['_set', '_append', '_append_all'].includes(keys[0]!) && Array.isArray(items)) {
      return { kind: 'array', op: keys[0] as '_set', items };
    }
  }
  return { kind: 'value', value };
}

/** One update's changes, applied to the batch's entities only when the whole update succeeded. */
class Stage {
  private readonly changes = new Map<string, Working>();
  readonly messages: ProcessedEntityMessage[] = [];

  constructor(private readonly state: Map<string, Working>) {}

  private known(id: string): Working | undefined {
    return this.changes.get(id) ?? this.state.get(id);
  }

  get(id: string): EntityDoc | undefined {
    return this.known(id)?.doc;
  }

  create(doc: EntityDoc, keySet: string): void {
    this.changes.set(doc._id, { doc, keySet, purge: false });
  }

  /** A changed entity; `stored` is how it was read (its version is what the write expects). */
  put(doc: EntityDoc, stored: EntityDoc | undefined, purge: boolean): void {
    const known = this.known(doc._id);
    const baseVersion = known ? known.baseVersion : stored?._hub.version;
    this.changes.set(doc._id, {
      doc: { ...doc, _hub: { ...doc._hub, version: baseVersion === undefined ? 1 : baseVersion + 1 } },
      stored: known ? known.stored : stored,
      baseVersion,
      keySet: known?.keySet,
      purge,
    });
  }

  message(m: ProcessedEntityMessage): void {
    this.messages.push(m);
  }

  commit(): void {
    for (const [id, w] of this.changes) this.state.set(id, w);
  }
}
