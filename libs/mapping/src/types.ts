/** Inbound use-case configuration, as in the reference's `InboundIntegrationEventConfiguration`. */
export interface InboundConfiguration {
  entities?: EntityConfig[];
  meter_readings?: unknown[];
}

export type EntityModeConfig =
  | 'upsert'
  | 'delete'
  | 'purge'
  | 'upsert-prune-scope-purge'
  | 'upsert-prune-scope-delete';

export interface EntityConfig {
  entity_schema: string;
  unique_ids: string[];
  fields: FieldConfig[];
  jsonataExpression?: string;
  enabled?: boolean | string;
  /** Decision 10: a JSONata predicate that must also hold. */
  condition?: string;
  mode?: EntityModeConfig;
  scope?: unknown;
}

export interface FieldConfig {
  attribute: string;
  field?: string;
  jsonataExpression?: string;
  constant?: unknown;
  _type?: 'email' | 'phone';
  _tags?: string[];
  enabled?: boolean | string;
  relations?: unknown;
  relation_refs?: unknown;
}

/** One entity update, as `simulateMappingV2` returns it (`EntityUpdate` in the reference). */
export interface EntityUpdate {
  entity_slug: string;
  unique_identifiers: Record<string, unknown>;
  attributes: Record<string, unknown>;
  mode: 'upsert' | 'delete' | 'purge';
}

export interface MappingWarning {
  entity_schema: string;
  field: string;
  message: string;
}

/** An update that could not be produced: reported for that update, never for the whole event's siblings. */
export interface MappingFailure {
  code: 'MAPPING_EXPRESSION_FAILED' | 'UNIQUE_ID_MISSING';
  entity_schema: string;
  /** Index of the entity configuration. */
  entity_index: number;
  attribute?: string;
  message: string;
}

export interface MappingResult {
  entity_updates: EntityUpdate[];
  warnings: MappingWarning[];
  failures: MappingFailure[];
}
