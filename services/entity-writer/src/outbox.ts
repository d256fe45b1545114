import { Headers, type ProcessedEntityMessage, Topics } from '@hub/contracts';
import type { Logger } from '@hub/observability';
import { type EntityDoc, entityView } from './repository.js';
import type { Unconfirmed } from './writer.js';

/** What every message on `erp.entity.updates` says about where it came from. */
export interface Provenance {
  update_id: string;
  org_id: string;
  integration_id: string;
  use_case_id: string;
  event_id: string;
  correlation_id: string;
}

/** The entity a processed-entity message is about, and the id of the change (unique per change). */
export interface ChangeSubject {
  schema: string;
  entityId: string;
  uniqueIds: Record<string, unknown>;
  changeId: string;
}

export function processedMessage(
  action: ProcessedEntityMessage['action'],
  source: Provenance,
  subject: ChangeSubject,
  entity: Record<string, unknown>,
): ProcessedEntityMessage {
  return {
    schema_version: 1,
    action,
    org_id: source.org_id,
    entity_schema: subject.schema,
    entity_id: subject.entityId,
    unique_ids: subject.uniqueIds,
    entity,
    source: {
      event_id: source.event_id,
      integration_id: source.integration_id,
      use_case_id: source.use_case_id,
      update_id: source.update_id,
    },
    meta: {
      correlation_id: source.correlation_id,
      change_id: subject.changeId,
      processed_at: new Date().toISOString(),
    },
  };
}

export function toOutgoing(message: ProcessedEntityMessage, traceHeaders: Record<string, string>) {
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

/** Finds which of the given change ids already have a processed-entity message on the topic. */
export type PublishedCheck = (
  changes: ReadonlyArray<{ id: string; at: string; entityId: string }>,
) => Promise<Set<string>>;

/**
 * The processed messages of changes an earlier delivery wrote but may not have sent (it died between
 * the write and the send, ADR 4): the topic is searched for their change ids and a message is made
 * for each one that is not there, carrying the entity as it is now.
 */
export async function missingMessages(
  unconfirmed: readonly Unconfirmed[],
  current: ReadonlyMap<string, EntityDoc>,
  published: PublishedCheck,
  logger: Logger,
): Promise<ProcessedEntityMessage[]> {
  if (unconfirmed.length === 0) return [];
  const already = await published(unconfirmed.map((u) => ({ ...u.change, entityId: u.entityId })));
  const missing = unconfirmed.filter((u) => !already.has(u.change.id));
  if (missing.length > 0) {
    logger.warn(
      { changeIds: missing.map((u) => u.change.id) },
      'changes written by an earlier delivery had no processed message on the topic; sending them now',
    );
  }
  const rebuilt = missing.filter((u) => !u.message).map((u) => u.change.id);
  if (rebuilt.length > 0) {
    logger.warn(
      { changeIds: rebuilt },
      'the outbox no longer held these messages: they are sent with the entity as it is now',
    );
  }
  return missing.map((u) => {
    if (u.message) return u.message;
    // A later write replaced the outbox (another partition wrote the entity meanwhile): the entity as
    // it is now is the closest there is.
    const entity = current.get(u.entityId);
    const subject = { schema: u.schema, entityId: u.entityId, uniqueIds: u.uniqueIds, changeId: u.change.id };
    return processedMessage(u.change.action, u.source, subject, entity ? entityView(entity) : {});
  });
}

/**
 * How far before a left-over message's `processed_at` the topic is searched: the message was built before
 * it was sent, possibly by another instance whose clock differs a little.
 */
export const PUBLISHED_CHECK_MARGIN_MS = 2 * 60 * 1000;

/** Change ids of `changes` found on the processed-entity topic (`scan` reads it from a time on). */
export function publishedCheck(
  scan: (sinceMs: number, keys: string[], visit: (value: Buffer | null) => void) => Promise<void>,
): PublishedCheck {
  return async (changes) => {
    const wanted = new Set(changes.map((c) => c.id));
    const since = Math.min(...changes.map((c) => Date.parse(c.at))) - PUBLISHED_CHECK_MARGIN_MS;
    const found = new Set<string>();
    // Processed messages are keyed by entity id: only those entities' partitions need reading.
    await scan(since, [...new Set(changes.map((c) => c.entityId))], (value) => {
      if (!value) return;
      try {
        const id = (JSON.parse(value.toString('utf8')) as ProcessedEntityMessage).meta?.change_id;
        if (id && wanted.has(id)) found.add(id);
      } catch {
        // not ours to judge: only the change ids matter here
      }
    });
    return found;
  };
}

/**
 * The change ids whose processed messages this process has sent (the most recent `capacity`): what an
 * entity's outbox no longer needs to keep (`withOutbox`).
 */
export class SentChanges {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 200_000) {}

  has(changeId: string): boolean {
    return this.ids.has(changeId);
  }

  add(changeIds: Iterable<string>): void {
    for (const id of changeIds) {
      this.ids.add(id);
      if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    }
  }
}
