import { Headers, type ProcessedEntityMessage, Topics } from '@hub/contracts';
import type { MessageProducer } from '@hub/kafka';
import type { Logger } from '@hub/observability';
import type { EntitiesRepository, EntityDoc } from './repository.js';

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
export type PublishedCheck = (pending: readonly ProcessedEntityMessage[]) => Promise<Set<string>>;

/**
 * Publishes an entity's pending processed messages and clears them from its outbox (ADR 2), at most once
 * per change. A message the current write just put in the outbox is sent at once. A message left over
 * from an earlier attempt (the writer died between publishing and clearing, or between writing and
 * publishing) may or may not be on the topic already: the topic is checked first (`PublishedCheck`) and
 * only the missing ones are sent. Sending and clearing happen under the entity's lock.
 */
export class OutboxPublisher {
  constructor(
    private readonly repository: EntitiesRepository,
    readonly producer: MessageProducer,
    private readonly published: PublishedCheck,
    private readonly logger: Logger,
  ) {}

  /** Sends what `doc` has pending (re-read under the lock); `fresh` is the change id this write just added. */
  async flush(
    doc: EntityDoc | undefined,
    traceHeaders: Record<string, string>,
    fresh?: string,
  ): Promise<void> {
    if (!doc || doc._hub.outbox.length === 0) return;
    await this.repository.drainOutbox(doc._id, this.sender(traceHeaders, fresh));
    this.logger.debug({ entityId: doc._id }, 'processed-entity messages sent');
  }

  /** Publishes pending messages, skipping left-over ones already on the topic (for `EntitiesRepository.update`). */
  sender(
    traceHeaders: Record<string, string>,
    fresh?: string,
  ): (pending: ProcessedEntityMessage[]) => Promise<void> {
    return async (pending) => {
      const leftovers = pending.filter((m) => m.meta.change_id !== fresh);
      const already = leftovers.length > 0 ? await this.published(leftovers) : new Set<string>();
      if (already.size > 0) {
        this.logger.warn(
          { changeIds: [...already] },
          'outbox held messages that were already published (a writer died before clearing them); not sent again',
        );
      }
      const missing = pending.filter((m) => !already.has(m.meta.change_id));
      await this.producer.send(missing.map((m) => toOutgoing(m, traceHeaders)));
    };
  }

  /** Publishes a message at once (a purged entity has no document left to hold it). */
  async publish(message: ProcessedEntityMessage, traceHeaders: Record<string, string>): Promise<void> {
    await this.producer.send([toOutgoing(message, traceHeaders)]);
  }
}

/**
 * How far before a left-over message's `processed_at` the topic is searched: the message was built before
 * it was sent, possibly by another instance whose clock differs a little.
 */
export const PUBLISHED_CHECK_MARGIN_MS = 2 * 60 * 1000;

/** Change ids of `pending` found on the processed-entity topic (`scan` reads it from a time on). */
export function publishedCheck(
  scan: (sinceMs: number, visit: (value: Buffer | null) => void) => Promise<void>,
): PublishedCheck {
  return async (pending) => {
    const wanted = new Set(pending.map((m) => m.meta.change_id));
    const since =
      Math.min(...pending.map((m) => Date.parse(m.meta.processed_at))) - PUBLISHED_CHECK_MARGIN_MS;
    const found = new Set<string>();
    await scan(since, (value) => {
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
