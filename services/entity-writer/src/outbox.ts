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

/** Publishes an entity's pending processed messages, then clears them from its outbox (ADR 2). */
export class OutboxPublisher {
  constructor(
    private readonly repository: EntitiesRepository,
    readonly producer: MessageProducer,
    private readonly logger: Logger,
  ) {}

  async flush(doc: EntityDoc | undefined, traceHeaders: Record<string, string>): Promise<void> {
    const pending = doc?._hub.outbox ?? [];
    if (!doc || pending.length === 0) return;
    await this.producer.send(pending.map((m) => toOutgoing(m, traceHeaders)));
    await this.repository.clearOutbox(
      doc._id,
      pending.map((m) => m.meta.change_id),
    );
    this.logger.debug({ entityId: doc._id, sent: pending.length }, 'processed-entity messages sent');
  }

  /** Publishes pending messages (for `EntitiesRepository.update`, which then clears them). */
  sender(traceHeaders: Record<string, string>): (pending: ProcessedEntityMessage[]) => Promise<void> {
    return async (pending) => {
      await this.producer.send(pending.map((m) => toOutgoing(m, traceHeaders)));
    };
  }

  /** Publishes a message at once (a purged entity has no document left to hold it). */
  async publish(message: ProcessedEntityMessage, traceHeaders: Record<string, string>): Promise<void> {
    await this.producer.send([toOutgoing(message, traceHeaders)]);
  }
}
