/** Inbound use-case configuration, as in the reference's `InboundIntegrationEventConfiguration`. */
export interface InboundConfiguration {
  entities?: EntityConfig[];
  meter_readings?: MeterReadingConfig[];
}

export type EntityModeConfig =
  | 'upsert'
  | 'delete'
  | 'purge'
  | 'upsert-prune-scope-purge'
  | 'upsert-prune-scope-delete';

export type ArrayOperation = '_set' | '_append' | '_append_all';

export interface EntityConfig {
  entity_schema: string;
  unique_ids: string[];
  fields: FieldConfig[];
  jsonataExpression?: string;
  enabled?: boolean | string;
  /** Decision 10: a JSONata predicate that must also hold. */
  condition?: string;
  mode?: EntityModeConfig;
  scope?: PruneScopeConfig;
}

export interface FieldConfig {
  attribute: string;
  field?: string;
  jsonataExpression?: string;
  constant?: unknown;
  _type?: 'email' | 'phone';
  _tags?: string[];
  enabled?: boolean | string;
  relations?: RelationConfig;
  relation_refs?: RelationRefsConfig;
}

/** Reference `RelationUniqueIdField`: one unique id of a related entity and where its value comes from. */
export interface RelationUniqueIdField {
  attribute: string;
  field?: string;
  jsonataExpression?: string;
  constant?: unknown;
  _type?: 'email' | 'phone';
}

/** Reference `RelationItemConfig`. */
export interface RelationItemConfig {
  entity_schema: string;
  _tags?: string[];
  unique_ids: RelationUniqueIdField[];
}

/** Reference `RelationConfig`: `items`, or a `jsonataExpression` that yields the items. */
export interface RelationConfig {
  operation: ArrayOperation;
  items?: RelationItemConfig[];
  jsonataExpression?: string;
}

/** Reference `RelationRefValueConfig`. */
export interface RelationRefValueConfig {
  attribute: string;
  operation?: ArrayOperation;
  field?: string;
  jsonataExpression?: string;
  constant?: unknown;
}

/** Reference `RelationRefItemConfig`. */
export interface RelationRefItemConfig {
  entity_schema: string;
  unique_ids: RelationUniqueIdField[];
  path: string;
  value: RelationRefValueConfig;
}

/** Reference `RelationRefsConfig`. */
export interface RelationRefsConfig {
  operation: ArrayOperation;
  items?: RelationRefItemConfig[];
  jsonataExpression?: string;
}

/** Reference `PruneScopeConfig`. */
export interface PruneScopeConfig {
  scope_mode: 'relations' | 'query';
  schema?: string;
  unique_ids?: RelationUniqueIdField[];
  query?: RelationUniqueIdField[];
}

/** Reference `MeterUniqueIdsConfig`; decision 10: a plain string is `{attribute: s, field: s}`. */
export interface MeterUniqueIdsConfig {
  unique_ids: Array<RelationUniqueIdField | string>;
}

/** Reference `IntegrationMeterReading`. */
export interface MeterReadingConfig {
  jsonataExpression?: string;
  reading_matching?: 'external_id' | 'strict-date';
  mode?: 'upsert' | 'delete' | 'upsert-prune-scope';
  scope?: { source?: string };
  meter: MeterUniqueIdsConfig;
  meter_counter?: MeterUniqueIdsConfig;
  fields: FieldConfig[];
}

/** One entity update, as `simulateMappingV2` returns it (`EntityUpdate` in the reference). */
export interface EntityUpdate {
  entity_slug: string;
  unique_identifiers: Record<string, unknown>;
  attributes: Record<string, unknown>;
  mode: 'upsert' | 'delete' | 'purge';
}

/** Reference `EntityPruneScopeUpdate`. */
export interface EntityPruneScopeUpdate {
  entity_slug: string;
  scope: {
    scope_mode: 'relations' | 'query';
    schema?: string;
    unique_ids?: Record<string, unknown>;
    query?: Record<string, unknown>;
  };
  /** Unique identifiers of every entity this event upserts for the configuration; `[]` prunes all in scope. */
  keep_unique_ids: Array<Record<string, unknown>>;
  deletion_mode: 'delete' | 'purge';
}

export interface EntityUniqueIdsRef {
  $entity_unique_ids: Record<string, unknown>;
}

/** Reference `MeterReadingUpdate`. */
export interface MeterReadingUpdate {
  meter: EntityUniqueIdsRef;
  meter_counter?: EntityUniqueIdsRef;
  attributes: Record<string, unknown>;
  mode: 'upsert' | 'delete';
  /**
   * Extension (not in the reference): present only when the configuration asks for `strict-date`
   * matching, so the writer knows how to match. `simulate()` leaves it out of its response.
   */
  reading_matching?: 'strict-date';
}

/** Reference `MeterReadingPruneScopeUpdate`. */
export interface MeterReadingPruneScopeUpdate {
  meter: EntityUniqueIdsRef;
  meter_counter?: EntityUniqueIdsRef;
  keep_external_ids: string[];
  source?: string;
}

/** Reference `MappingSimulationWarning`. */
export interface MappingWarning {
  entity_schema: string;
  field: string;
  message: string;
}

export type MappingFailureCode =
  /** An expression (or JSONPath) failed while evaluating. */
  | 'MAPPING_EXPRESSION_FAILED'
  /** A unique id of the entity (or the meter / counter of a reading) has no value. */
  | 'UNIQUE_ID_MISSING'
  /** A unique id (or prune-scope value) is not a plain value (e.g. an object such as `{"$ne": null}`), or its name is not allowed. */
  | 'UNIQUE_ID_INVALID'
  /** A unique id of a relation / relation_ref item, or of a prune scope, has no value. */
  | 'RELATION_UNIQUE_ID_MISSING'
  /** A relation / relation_ref item produced by JSONata does not have the expected shape. */
  | 'RELATION_ITEM_INVALID'
  /** A prune scope cannot be resolved (missing scope configuration or an empty scope value). */
  | 'PRUNE_SCOPE_INVALID'
  /** Some element of a prune-scope configuration failed, so pruning is not safe for this event. */
  | 'PRUNE_SCOPE_SKIPPED'
  /** A meter reading misses a required attribute or has an invalid timestamp / source / reason / value. */
  | 'METER_READING_INVALID'
  /** An update (or the event's output as a whole) is larger than the output limits (`OutputLimits`). */
  | 'MAPPING_OUTPUT_TOO_LARGE';

/** An update that could not be produced: reported for that update, never for the whole event's siblings. */
export interface MappingFailure {
  code: MappingFailureCode;
  /** Entity schema of the configuration, or `meter_reading` for meter-reading configurations. */
  entity_schema: string;
  /** Index of the configuration within `entities` (or within `meter_readings`, see `section`). */
  entity_index: number;
  /** Which list of the configuration `entity_index` points into. */
  section: 'entities' | 'meter_readings';
  /** Index of the element (from the configuration's `jsonataExpression`) that failed, when there are several. */
  element_index?: number;
  attribute?: string;
  message: string;
}

export interface MappingResult {
  entity_updates: EntityUpdate[];
  meter_readings_updates: MeterReadingUpdate[];
  prune_scope_updates: EntityPruneScopeUpdate[];
  meter_readings_prune_scope_updates: MeterReadingPruneScopeUpdate[];
  warnings: MappingWarning[];
  failures: MappingFailure[];
}

/** Exactly the reference `MappingSimulationResponse`. */
export interface MappingSimulationResponse {
  entity_updates: EntityUpdate[];
  meter_readings_updates: MeterReadingUpdate[];
  prune_scope_updates: EntityPruneScopeUpdate[];
  meter_readings_prune_scope_updates: MeterReadingPruneScopeUpdate[];
  warnings: MappingWarning[];
}
