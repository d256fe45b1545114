import { type EntityUpdateMessage, entityKey } from '@hub/contracts';
import { PermanentError } from '@hub/kafka';
import { mergeAttributes, type ResolvedAttribute } from './attributes.js';
import { type OutboxPublisher, processedMessage } from './outbox.js';
import { type CreatedTarget, type EntityRefs, isDirectId } from './refs.js';
import type { EntitiesRepository, EntityDoc } from './repository.js';
import { entityView } from './repository.js';
import { resolveAttributes } from './resolve.js';

export type WriteOutcome =
  | 'created'
  | 'updated'
  | 'deleted'
  | 'purged'
  | 'already_applied'
  | 'nothing_to_delete';

type Step = 'retry' | { result: WriteOutcome; doc?: EntityDoc };

/** What a write did besides its outcome, for its monitoring records. */
export interface WriteNotes {
  /** Relation targets created from their unique ids on the way. */
  created: CreatedTarget[];
  /** The entity written (absent when there was none to delete). */
  entityId?: string;
}

/**
 * Applies one entity update: look up by all unique ids (none: create; one: merge; several: error;
 * `{_id}` alone: a direct read that must exist), resolve relations, write the change together with its
 * processed-entity message (an outbox inside the entity document, so both land atomically), then
 * publish the message and clear it from the outbox. Redelivery is harmless: an applied update id is
 * recognised and only a still-pending message is sent.
 */
export class EntityWriter {
  constructor(
    private readonly repository: EntitiesRepository,
    private readonly refs: EntityRefs,
    private readonly outbox: OutboxPublisher,
  ) {}

  async apply(
    update: EntityUpdateMessage,
    traceHeaders: Record<string, string>,
    notes: WriteNotes = { created: [] },
  ): Promise<WriteOutcome> {
    const where = `update ${update.update_id} (${update.entity_schema})`;
    const ref = { schema: update.entity_schema, uniqueIds: update.unique_ids };
    const direct = isDirectId(update.unique_ids);
    // Checks the unique ids (and a direct id) before anything else is written.
    let current = await this.refs.find(update.org_id, ref, where);
    if (current?._hub.applied.includes(update.update_id)) {
      notes.entityId = current._id;
      await this.outbox.flush(current, traceHeaders);
      return 'already_applied';
    }
    const resolved =
      update.mode === 'upsert' ? await resolveAttributes(this.refs, update, traceHeaders, notes.created) : {};
    for (let attempt = 1; attempt <= 20; attempt++) {
      if (attempt > 1) current = await this.refs.find(update.org_id, ref, where);
      if (current?._hub.applied.includes(update.update_id)) {
        notes.entityId = current._id;
        await this.outbox.flush(current, traceHeaders);
        return 'already_applied';
      }
      if (!current && direct) throw new PermanentError('ENTITY_NOT_FOUND', 'lookup', `${where}: not found`);
      const step = current
        ? await this.change(current, update, resolved, traceHeaders)
        : await this.create(update, resolved);
      if (step === 'retry') continue;
      notes.entityId = step.doc?._id ?? current?._id;
      await this.outbox.flush(step.doc, traceHeaders, update.update_id);
      return step.result;
    }
    throw new Error(`${where}: too many concurrent writes to the same entity; retrying later`);
  }

  private async create(
    update: EntityUpdateMessage,
    resolved: Record<string, ResolvedAttribute>,
  ): Promise<Step> {
    if (update.mode === 'delete' || update.mode === 'purge') return { result: 'nothing_to_delete' };
    const now = new Date().toISOString();
    const draft = {
      _id: crypto.randomUUID(),
      _org: update.org_id,
      _schema: update.entity_schema,
      _created_at: now,
      _updated_at: now,
      ...mergeAttributes(undefined, resolved),
    };
    const created = await this.repository.create({
      ...draft,
      _hub: {
        create_key: entityKey(update.org_id, update.entity_schema, update.unique_ids),
        version: 1,
        applied: [update.update_id],
        outbox: [processedMessage('created', update, subject(update, draft._id), draft)],
      },
    });
    return created ? { result: 'created', doc: created } : 'retry';
  }

  private async change(
    current: EntityDoc,
    update: EntityUpdateMessage,
    resolved: Record<string, ResolvedAttribute>,
    traceHeaders: Record<string, string>,
  ): Promise<Step> {
    const now = new Date().toISOString();
    const publish = this.outbox.sender(traceHeaders, update.update_id);
    const about = subject(update, current._id);
    if (update.mode === 'purge') {
      await this.outbox.publish(processedMessage('deleted', update, about, entityView(current)), {});
      await this.repository.purge(current._id);
      return { result: 'purged' };
    }
    if (update.mode === 'delete') {
      if (current._deleted_at) return { result: 'nothing_to_delete' };
      const message = processedMessage('deleted', update, about, entityView(current));
      const set = { _deleted_at: now, _updated_at: now };
      const ok = await this.repository.update(current, set, [], update.update_id, message, publish);
      return ok ? { result: 'deleted' } : 'retry';
    }
    const set = { ...mergeAttributes(current, resolved), _updated_at: now };
    const message = processedMessage('updated', update, about, { ...entityView(current), ...set });
    const unset = current._deleted_at ? ['_deleted_at'] : [];
    const ok = await this.repository.update(current, set, unset, update.update_id, message, publish);
    return ok ? { result: 'updated' } : 'retry';
  }
}

const subject = (update: EntityUpdateMessage, entityId: string) => ({
  schema: update.entity_schema,
  entityId,
  uniqueIds: update.unique_ids,
  changeId: update.update_id,
});
