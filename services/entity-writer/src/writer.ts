import {
  type EntityUpdateMessage,
  entityKey,
  Headers,
  type ProcessedEntityMessage,
  Topics,
} from '@hub/contracts';
import { type MessageProducer, PermanentError } from '@hub/kafka';
import type { Logger } from '@hub/observability';
import { lookupConditions, writableAttributes } from './lookup.js';
import { type EntitiesRepository, type EntityDoc, entityView } from './repository.js';

export type WriteOutcome =
  | 'created'
  | 'updated'
  | 'deleted'
  | 'purged'
  | 'already_applied'
  | 'nothing_to_delete';

/**
 * Applies one entity update: look up by all unique ids (none: create; one: merge; several: error),
 * write the change together with its processed-entity message (an outbox inside the entity document,
 * so both land atomically), then publish the message and clear it from the outbox.
 * Redelivery is harmless: an applied update id is recognised and only a still-pending message is sent.
 */
export class EntityWriter {
  constructor(
    private readonly repository: EntitiesRepository,
    private readonly producer: MessageProducer,
    private readonly logger: Logger,
  ) {}

  async apply(update: EntityUpdateMessage, traceHeaders: Record<string, string>): Promise<WriteOutcome> {
    const conditions = lookupConditions(update.unique_ids);
    if (
      conditions.length === 0 ||
      conditions.some((c) => c.value === undefined || c.value === null || c.value === '')
    ) {
      throw new PermanentError(
        'UNIQUE_ID_MISSING',
        'validation',
        `update ${update.update_id} has an empty unique id`,
      );
    }
    for (let attempt = 1; attempt <= 20; attempt++) {
      const found = await this.repository.lookup(update.org_id, update.entity_schema, conditions);
      if (found.length > 1) {
        throw new PermanentError(
          'AMBIGUOUS_LOOKUP',
          'lookup',
          `${found.length}+ ${update.entity_schema} entities match unique ids ${JSON.stringify(update.unique_ids)}`,
        );
      }
      const current = found[0];
      if (current?._hub.applied.includes(update.update_id)) {
        await this.flush(current, traceHeaders);
        return 'already_applied';
      }
      const outcome = current ? await this.change(current, update) : await this.create(update);
      if (outcome === 'retry') continue;
      if (outcome.doc) await this.flush(outcome.doc, traceHeaders);
      return outcome.result;
    }
    throw new Error(
      `update ${update.update_id}: too many concurrent writes to the same entity; retrying later`,
    );
  }

  private async create(
    update: EntityUpdateMessage,
  ): Promise<'retry' | { result: WriteOutcome; doc?: EntityDoc }> {
    if (update.mode === 'delete' || update.mode === 'purge') return { result: 'nothing_to_delete' };
    const now = new Date().toISOString();
    const attributes = writableAttributes(update.attributes);
    const draft = {
      _id: crypto.randomUUID(),
      _org: update.org_id,
      _schema: update.entity_schema,
      _created_at: now,
      _updated_at: now,
      ...attributes,
    };
    const doc = {
      ...draft,
      _hub: {
        create_key: entityKey(update.org_id, update.entity_schema, update.unique_ids),
        version: 1,
        applied: [update.update_id],
        outbox: [processed('created', update, draft._id, draft)],
      },
    } as EntityDoc;
    const created = await this.repository.create(doc);
    return created ? { result: 'created', doc: created } : 'retry';
  }

  private async change(
    current: EntityDoc,
    update: EntityUpdateMessage,
  ): Promise<'retry' | { result: WriteOutcome; doc?: EntityDoc }> {
    const now = new Date().toISOString();
    if (update.mode === 'purge') {
      const message = processed('deleted', update, current._id, entityView(current));
      await this.producer.send([toOutgoing(message, {})]);
      await this.repository.purge(current._id);
      return { result: 'purged' };
    }
    if (update.mode === 'delete') {
      if (current._deleted_at) return { result: 'nothing_to_delete' };
      const message = processed('deleted', update, current._id, entityView(current));
      const ok = await this.repository.update(
        current,
        { _deleted_at: now, _updated_at: now },
        [],
        update.update_id,
        message,
      );
      return ok ? { result: 'deleted', doc: await this.reload(current) } : 'retry';
    }
    const set = { ...writableAttributes(update.attributes), _updated_at: now };
    const after = { ...entityView(current), ...set };
    const message = processed('updated', update, current._id, after);
    const unset = current._deleted_at ? ['_deleted_at'] : [];
    const ok = await this.repository.update(current, set, unset, update.update_id, message);
    return ok ? { result: 'updated', doc: await this.reload(current) } : 'retry';
  }

  private async reload(current: EntityDoc): Promise<EntityDoc | undefined> {
    return (await this.repository.get(current._org, current._id)) ?? undefined;
  }

  /** Publishes the entity's pending processed messages, then clears them from its outbox. */
  private async flush(doc: EntityDoc, traceHeaders: Record<string, string>): Promise<void> {
    const pending = doc._hub.outbox;
    if (pending.length === 0) return;
    await this.producer.send(pending.map((m) => toOutgoing(m, traceHeaders)));
    await this.repository.clearOutbox(
      doc._id,
      pending.map((m) => m.meta.change_id),
    );
    this.logger.debug({ entityId: doc._id, sent: pending.length }, 'processed-entity messages sent');
  }
}

function processed(
  action: ProcessedEntityMessage['action'],
  update: EntityUpdateMessage,
  entityId: string,
  entity: Record<string, unknown>,
): ProcessedEntityMessage {
  return {
    schema_version: 1,
    action,
    org_id: update.org_id,
    entity_schema: update.entity_schema,
    entity_id: entityId,
    unique_ids: update.unique_ids,
    entity,
    source: {
      event_id: update.event_id,
      integration_id: update.integration_id,
      use_case_id: update.use_case_id,
      update_id: update.update_id,
    },
    meta: {
      correlation_id: update.correlation_id,
      change_id: update.update_id,
      processed_at: new Date().toISOString(),
    },
  };
}

function toOutgoing(message: ProcessedEntityMessage, traceHeaders: Record<string, string>) {
  return {
    topic: Topics.entitiesProcessed,
    key: message.entity_id,
    value: message,
    headers: {
      ...traceHeaders,
      [Headers.correlationId]: message.meta.correlation_id,
      [Headers.eventId]: message.source.event_id,
      [Headers.orgId]: message.org_id,
      [Headers.schemaVersion]: '1',
    },
  };
}
