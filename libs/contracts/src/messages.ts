import Type, { type Static } from 'typebox';
import { IntegrationRecord, UseCaseRecord } from './domain.js';

/**
 * Message schemas of every topic. Each carries `schema_version`; a consumer rejects (dead-letters)
 * a version it does not know. Additive changes keep the version; anything else bumps it.
 */

/** How the gateway picked the use case (decision 5 of API_SCOPE.md); recorded for monitoring. */
export const RoutedBy = Type.Union([
  Type.Literal('use_case_slug'),
  Type.Literal('slug'),
  Type.Literal('name'),
  Type.Literal('single_inbound_use_case'),
]);
export type RoutedBy = Static<typeof RoutedBy>;

/** Topic `erp.inbound.events`: one accepted event, routed to a use case. */
export const InboundEventMessage = Type.Object({
  schema_version: Type.Literal(1),
  event_id: Type.String(),
  org_id: Type.String(),
  integration_id: Type.String(),
  use_case_id: Type.String(),
  /** The integration's config revision the gateway routed with; the mapper maps with it or a newer one. */
  config_revision: Type.Integer(),
  routed_by: RoutedBy,
  correlation_id: Type.String(),
  event_type: Type.Optional(Type.String()),
  event_name: Type.String(),
  timestamp: Type.Optional(Type.String()),
  format: Type.Union([Type.Literal('json'), Type.Literal('xml')]),
  /** The payload exactly as received, serialised. */
  payload: Type.String(),
  deduplication_id: Type.Optional(Type.String()),
  group_id: Type.Optional(Type.String()),
  accepted_at: Type.String(),
});
export type InboundEventMessage = Static<typeof InboundEventMessage>;

export const EntityMode = Type.Union([
  Type.Literal('upsert'),
  Type.Literal('delete'),
  Type.Literal('purge'),
  Type.Literal('upsert-prune-scope-purge'),
  Type.Literal('upsert-prune-scope-delete'),
]);
export type EntityMode = Static<typeof EntityMode>;

/** Topic `erp.entity.updates`: one entity update produced by the mapper. */
export const EntityUpdateMessage = Type.Object({
  schema_version: Type.Literal(1),
  /** Deterministic: `<event_id>:<index>`; the writer uses it to make redelivery harmless. */
  update_id: Type.String(),
  org_id: Type.String(),
  integration_id: Type.String(),
  use_case_id: Type.String(),
  event_id: Type.String(),
  correlation_id: Type.String(),
  entity_schema: Type.String(),
  mode: EntityMode,
  /** Unique-id attribute name -> value, as mapped. */
  unique_ids: Type.Record(Type.String(), Type.Unknown()),
  /** The mapped attributes (including the unique ids). */
  attributes: Type.Record(Type.String(), Type.Unknown()),
});
export type EntityUpdateMessage = Static<typeof EntityUpdateMessage>;

/**
 * Topic `erp.entities.processed` (public, version 1): one message per entity created, updated or deleted.
 * Key: entity id. Subscribers may see a change again after a broker failure; `meta.change_id` identifies it.
 */
export const ProcessedEntityMessage = Type.Object({
  schema_version: Type.Literal(1),
  action: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('deleted')]),
  org_id: Type.String(),
  entity_schema: Type.String(),
  entity_id: Type.String(),
  unique_ids: Type.Record(Type.String(), Type.Unknown()),
  /** The entity after the change (for `deleted`, as it was before). */
  entity: Type.Record(Type.String(), Type.Unknown()),
  source: Type.Object({
    event_id: Type.String(),
    integration_id: Type.String(),
    use_case_id: Type.String(),
    update_id: Type.String(),
  }),
  meta: Type.Object({
    correlation_id: Type.String(),
    /** Unique per change: `<update_id>` of the update that caused it. */
    change_id: Type.String(),
    processed_at: Type.String(),
  }),
});
export type ProcessedEntityMessage = Static<typeof ProcessedEntityMessage>;

/** Topic `erp.config.changes` (compacted): the latest snapshot of one integration. A tombstone deletes it. */
export const ConfigChangeMessage = Type.Object({
  schema_version: Type.Literal(1),
  integration: IntegrationRecord,
  use_cases: Type.Array(UseCaseRecord),
  /** App components whose v1 events go to this integration (`setIntegrationAppMapping`). */
  app_mappings: Type.Optional(
    Type.Array(Type.Object({ app_id: Type.String(), component_id: Type.String() })),
  ),
});
export type ConfigChangeMessage = Static<typeof ConfigChangeMessage>;

export const ErrorCategory = Type.Union([
  Type.Literal('validation'),
  Type.Literal('mapping'),
  Type.Literal('lookup'),
  Type.Literal('configuration'),
  Type.Literal('internal'),
]);
export type ErrorCategory = Static<typeof ErrorCategory>;

/** Topic `erp.dead-letters`: a message that can never succeed, with its provenance. */
export const DeadLetterMessage = Type.Object({
  schema_version: Type.Literal(1),
  service: Type.String(),
  original: Type.Object({
    topic: Type.String(),
    partition: Type.Integer(),
    offset: Type.String(),
    key: Type.Union([Type.String(), Type.Null()]),
    value: Type.Union([Type.String(), Type.Null()]),
    headers: Type.Record(Type.String(), Type.String()),
  }),
  error: Type.Object({ code: Type.String(), category: ErrorCategory, message: Type.String() }),
  attempts: Type.Integer({ minimum: 1 }),
  correlation_id: Type.Optional(Type.String()),
  event_id: Type.Optional(Type.String()),
  failed_at: Type.String(),
});
export type DeadLetterMessage = Static<typeof DeadLetterMessage>;
