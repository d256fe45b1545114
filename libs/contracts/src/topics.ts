/**
 * Kafka topic names. They are part of the public contract: renaming one is a breaking change.
 * Partition counts are configuration (see deploy/), not code.
 */
export const Topics = {
  /** One message per accepted event. Key: integration id (+ ":" + group_id when given). */
  inboundEvents: 'erp.inbound.events',
  /**
   * Internal: the inbound events of a quarantined use case, parked by the mapper until the use case's
   * configuration changes, then handed back to `erp.inbound.events` (ADR 0015). Key and value as there.
   */
  parkedEvents: 'erp.inbound.parked',
  /** One message per entity update produced by the mapper. Key: org|schema|unique-id values. */
  entityUpdates: 'erp.entity.updates',
  /** Public: one message per entity created, updated or deleted. Key: entity id. */
  entitiesProcessed: 'erp.entities.processed',
  /**
   * Internal, compacted: the use case revisions the mapper quarantined, read by every mapper instance and
   * by the config-service (the use case's `status`). Key: `<use case id>@<revision>`; a tombstone releases
   * it (ADR 0015, decision 13).
   */
  quarantines: 'erp.mapper.quarantines',
  /** Compacted: the latest snapshot of each integration with its use cases. Key: integration id. */
  configChanges: 'erp.config.changes',
  /** Messages that can never succeed, with their provenance and error. */
  deadLetters: 'erp.dead-letters',
  /** One monitoring record per stage of an event's life (docs/monitoring.md). Key: event id. */
  monitoringEvents: 'erp.monitoring.events',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

/** Header names carried by every message. */
export const Headers = {
  correlationId: 'x-correlation-id',
  traceparent: 'traceparent',
  eventId: 'x-event-id',
  orgId: 'x-org-id',
  schemaVersion: 'x-schema-version',
} as const;

/**
 * Headers of a configuration snapshot (`erp.config.changes`): its integration revision, so a mirror can
 * keep the newest record of an integration without decoding it, and decode it when its organisation first
 * needs it (ADR 0015, decision 23). Optional: a record without it is decoded on arrival.
 */
export const ConfigHeaders = {
  revision: 'x-config-revision',
} as const;

/** Headers of a parked event (`erp.inbound.parked`): which use case revision was quarantined. */
export const ParkedHeaders = {
  useCaseId: 'x-parked-use-case-id',
  revision: 'x-parked-revision',
  /** How many times the parked lane put the event back at the end of its partition (0: parked by the mapper). */
  cycle: 'x-parked-cycle',
} as const;
