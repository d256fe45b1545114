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
  /** Absent in messages written before the other kinds existed; both mean an entity update. */
  kind: Type.Optional(Type.Literal('entity')),
  /** Deterministic: `<event_id>:<index>`; the writer uses it to make redelivery harmless. */
  update_id: Type.String(),
  org_id: Type.String(),
  integration_id: Type.String(),
  use_case_id: Type.String(),
  event_id: Type.String(),
  correlation_id: Type.String(),
  /** Added for monitoring (additive): the inbound event's type, name and when the gateway received it. */
  event_type: Type.Optional(Type.String()),
  event_name: Type.Optional(Type.String()),
  received_at: Type.Optional(Type.String()),
  entity_schema: Type.String(),
  mode: EntityMode,
  /** Unique-id attribute name -> value, as mapped. */
  unique_ids: Type.Record(Type.String(), Type.Unknown()),
  /** The mapped attributes (including the unique ids). */
  attributes: Type.Record(Type.String(), Type.Unknown()),
});
export type EntityUpdateMessage = Static<typeof EntityUpdateMessage>;

/** Fields every message on `erp.entity.updates` carries besides its kind-specific body. */
const UpdateProvenance = {
  schema_version: Type.Literal(1),
  /** Deterministic per event (`<event_id>:prune:<n>`, `<event_id>:reading:<n>`, ...): redelivery is recognised. */
  update_id: Type.String(),
  org_id: Type.String(),
  integration_id: Type.String(),
  use_case_id: Type.String(),
  event_id: Type.String(),
  correlation_id: Type.String(),
  /** Added for monitoring (additive): the inbound event's type, name and when the gateway received it. */
  event_type: Type.Optional(Type.String()),
  event_name: Type.Optional(Type.String()),
  received_at: Type.Optional(Type.String()),
};

/** `{ "$entity_unique_ids": {...} }`: a meter or counter named by its unique ids. */
export const EntityUniqueIdsRef = Type.Object({
  $entity_unique_ids: Type.Record(Type.String(), Type.Unknown()),
});

/**
 * Topic `erp.entity.updates`, `kind: "prune_scope"` (reference `EntityPruneScopeUpdate`): delete or purge
 * the `entity_schema` entities inside `scope` whose unique ids are not in `keep_unique_ids`.
 * Key: the scope target (`org|<scope schema>|<unique ids>` or `org|<entity schema>|<query>`).
 */
export const PruneScopeUpdateMessage = Type.Object({
  ...UpdateProvenance,
  kind: Type.Literal('prune_scope'),
  entity_schema: Type.String(),
  scope: Type.Object({
    scope_mode: Type.Union([Type.Literal('relations'), Type.Literal('query')]),
    schema: Type.Optional(Type.String()),
    unique_ids: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    query: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
  keep_unique_ids: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  deletion_mode: Type.Union([Type.Literal('delete'), Type.Literal('purge')]),
});
export type PruneScopeUpdateMessage = Static<typeof PruneScopeUpdateMessage>;

/**
 * Topic `erp.entity.updates`, `kind: "meter_reading"` (reference `MeterReadingUpdate`). Key: the meter
 * (`org|meter|<meter unique ids>`), so the readings of one meter keep their order.
 */
export const MeterReadingUpdateMessage = Type.Object({
  ...UpdateProvenance,
  kind: Type.Literal('meter_reading'),
  meter: EntityUniqueIdsRef,
  meter_counter: Type.Optional(EntityUniqueIdsRef),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  mode: Type.Union([Type.Literal('upsert'), Type.Literal('delete')]),
  reading_matching: Type.Optional(Type.Union([Type.Literal('external_id'), Type.Literal('strict-date')])),
});
export type MeterReadingUpdateMessage = Static<typeof MeterReadingUpdateMessage>;

/**
 * Topic `erp.entity.updates`, `kind: "meter_reading_prune_scope"` (reference `MeterReadingPruneScopeUpdate`):
 * delete the readings of the meter (+ counter, + `source`) whose external id is not kept. Key: the meter.
 */
export const MeterReadingPruneScopeMessage = Type.Object({
  ...UpdateProvenance,
  kind: Type.Literal('meter_reading_prune_scope'),
  meter: EntityUniqueIdsRef,
  meter_counter: Type.Optional(EntityUniqueIdsRef),
  keep_external_ids: Type.Array(Type.String()),
  source: Type.Optional(Type.String()),
});
export type MeterReadingPruneScopeMessage = Static<typeof MeterReadingPruneScopeMessage>;

/**
 * Anything on `erp.entity.updates`. An entity update has no `kind` (the original version-1 shape) or
 * `kind: "entity"`; the other kinds were added later, additively, under the same schema version.
 */
export const EntityUpdatesTopicMessage = Type.Union([
  PruneScopeUpdateMessage,
  MeterReadingUpdateMessage,
  MeterReadingPruneScopeMessage,
  EntityUpdateMessage,
]);
export type EntityUpdatesTopicMessage = Static<typeof EntityUpdatesTopicMessage>;

/**
 * Topic `erp.entities.processed` (public, version 1): one message per entity created, updated or deleted.
 * Key: entity id. Subscribers may see a change again after a broker failure; `meta.change_id` identifies it.
 */
export const ProcessedEntityMessage = Type.Object(
  {
    schema_version: Type.Literal(1, {
      description: 'The schema version of this message (also header x-schema-version).',
    }),
    action: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('deleted')], {
      description: 'What happened to the entity.',
    }),
    org_id: Type.String({ description: 'The organisation the entity belongs to.' }),
    entity_schema: Type.String({ description: 'The entity schema, e.g. `contact`.' }),
    entity_id: Type.String({ description: 'The entity id (also the message key).' }),
    unique_ids: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The unique-id attributes that identify the entity, name -> value.',
    }),
    /** The entity after the change (for `deleted`, as it was before). */
    entity: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The entity after the change (for `deleted`, as it was before).',
    }),
    source: Type.Object(
      {
        event_id: Type.String({ description: 'The ERP event (`evt_` + ULID).' }),
        integration_id: Type.String(),
        use_case_id: Type.String(),
        update_id: Type.String({ description: 'The entity update of the event (`<event_id>:<n>`).' }),
      },
      { description: 'The ERP event behind the change.' },
    ),
    meta: Type.Object({
      correlation_id: Type.String({
        description: 'The correlation id of the HTTP request (header x-correlation-id).',
      }),
      /** Unique per change: `<update_id>` of the update that caused it. */
      change_id: Type.String({
        description:
          'Unique per change (the update id that caused it): delivery is at least once, deduplicate on it.',
      }),
      processed_at: Type.String({ description: 'When the writer applied the change (ISO 8601).' }),
    }),
  },
  {
    title: 'ProcessedEntityMessage',
    description: 'Topic erp.entities.processed: one entity created, updated or deleted. Key: the entity id.',
  },
);
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

/**
 * Topic `erp.mapper.quarantines` (internal, compacted): a use case revision whose events kept hitting the
 * mapping budget, so the mapper parks its events until the configuration changes (ADR 0015, decision 13).
 * Key: `<use_case_id>@<revision>` (`quarantineKey`); a tombstone (null value) releases it.
 */
export const UseCaseQuarantineMessage = Type.Object({
  schema_version: Type.Literal(1),
  org_id: Type.String(),
  integration_id: Type.String(),
  use_case_id: Type.String(),
  /** The use case revision (its configuration) that is quarantined; a newer one is not. */
  revision: Type.Integer({ minimum: 1 }),
  /** When the mapper quarantined it (ISO 8601 UTC). */
  since: Type.String(),
  code: Type.String(),
  /** What happened and how to resume, for the use case's readers (no event values). */
  reason: Type.String(),
});
export type UseCaseQuarantineMessage = Static<typeof UseCaseQuarantineMessage>;

export const ErrorCategory = Type.Union([
  Type.Literal('validation'),
  Type.Literal('mapping'),
  Type.Literal('lookup'),
  Type.Literal('configuration'),
  Type.Literal('internal'),
]);
export type ErrorCategory = Static<typeof ErrorCategory>;

/** Topic `erp.dead-letters`: a message that can never succeed, with its provenance. */
export const DeadLetterMessage = Type.Object(
  {
    schema_version: Type.Literal(1, { description: 'The schema version of the dead-letter record.' }),
    service: Type.String({
      description: 'The service that gave up on the message: `mapper` or `entity-writer`.',
    }),
    original: Type.Object(
      {
        topic: Type.String(),
        partition: Type.Integer(),
        offset: Type.String(),
        key: Type.Union([Type.String(), Type.Null()]),
        value: Type.Union([Type.String(), Type.Null()], {
          description:
            'The original value as UTF-8 text; null for a tombstone, or when `value_omitted` says it was left out.',
        }),
        headers: Type.Record(Type.String(), Type.String()),
        value_omitted: Type.Optional(
          Type.Object(
            {
              bytes: Type.Integer({ minimum: 0, description: 'The size of the original value.' }),
              reason: Type.String({
                description:
                  'Why the dead letter could not carry it (its size limit, or the broker refused it).',
              }),
            },
            {
              description:
                'Present in the pointer form: the dead letter was too large to be written with the original value, which stays readable at `topic`, `partition`, `offset` while the topic retains it.',
            },
          ),
        ),
      },
      { description: 'The failed message and where it was.' },
    ),
    error: Type.Object(
      {
        code: Type.String({ description: 'A stable code, e.g. `UNIQUE_ID_MISSING` (docs/monitoring.md).' }),
        category: ErrorCategory,
        message: Type.String(),
      },
      { description: 'Why the message can never succeed.' },
    ),
    attempts: Type.Integer({ minimum: 1, description: 'How many times it was tried.' }),
    correlation_id: Type.Optional(Type.String()),
    event_id: Type.Optional(Type.String()),
    failed_at: Type.String({ description: 'ISO 8601.' }),
  },
  { title: 'DeadLetterMessage', description: 'Topic erp.dead-letters: a message that can never succeed.' },
);
export type DeadLetterMessage = Static<typeof DeadLetterMessage>;
