import {
  type CompiledExpression,
  compileExpression,
  DEFAULT_LIMITS,
  ExpressionError,
  type ExpressionLimits,
} from './expression.js';
import { resolveField } from './path.js';
import type {
  EntityConfig,
  EntityUpdate,
  FieldConfig,
  InboundConfiguration,
  MappingFailure,
  MappingResult,
  MappingWarning,
} from './types.js';

interface CompiledField {
  config: FieldConfig;
  expression?: CompiledExpression;
  enabled?: CompiledExpression;
}

interface CompiledEntity {
  index: number;
  config: EntityConfig;
  expression?: CompiledExpression;
  enabled?: CompiledExpression;
  condition?: CompiledExpression;
  fields: CompiledField[];
}

/** A use case's configuration compiled once (per configuration revision) and reused for every event. */
export class CompiledMapping {
  private constructor(
    private readonly entities: CompiledEntity[],
    private readonly staticWarnings: MappingWarning[],
  ) {}

  /** Compiles every expression; throws ExpressionError naming the first expression that does not parse. */
  static compile(
    configuration: InboundConfiguration,
    limits: ExpressionLimits = DEFAULT_LIMITS,
  ): CompiledMapping {
    const compile = (source: string | undefined) => (source ? compileExpression(source, limits) : undefined);
    const warnings: MappingWarning[] = [];
    const entities = (configuration.entities ?? []).map((config, index): CompiledEntity => {
      for (const f of config.fields) {
        if (f.relations !== undefined || f.relation_refs !== undefined) {
          warnings.push({
            entity_schema: config.entity_schema,
            field: f.attribute,
            message: 'relations and relation_refs are not applied yet; the attribute is left out',
          });
        }
      }
      return {
        index,
        config,
        expression: compile(config.jsonataExpression),
        enabled: typeof config.enabled === 'string' ? compile(config.enabled) : undefined,
        condition: compile(config.condition),
        fields: config.fields.map((f) => ({
          config: f,
          expression: f.constant === undefined ? compile(f.jsonataExpression) : undefined,
          enabled: typeof f.enabled === 'string' ? compile(f.enabled) : undefined,
        })),
      };
    });
    if ((configuration.meter_readings ?? []).length > 0) {
      warnings.push({
        entity_schema: 'meter_reading',
        field: 'meter_readings',
        message: 'meter readings are not applied yet',
      });
    }
    return new CompiledMapping(entities, warnings);
  }

  /** Maps one payload into entity updates. Never throws for a single bad update: it is listed in `failures`. */
  async map(payload: unknown): Promise<MappingResult> {
    const result: MappingResult = { entity_updates: [], warnings: [...this.staticWarnings], failures: [] };
    for (const entity of this.entities) {
      const { config } = entity;
      if (config.enabled === false) continue;
      let elements: unknown[];
      try {
        if (entity.expression) {
          const out = await entity.expression.evaluate(payload, payload);
          elements = out === undefined ? [] : Array.isArray(out) ? out : [out];
        } else {
          elements = [payload];
        }
      } catch (err) {
        result.failures.push(failure(entity, undefined, err));
        continue;
      }
      for (const element of elements) {
        try {
          const update = await this.mapElement(entity, element, payload);
          if (update) result.entity_updates.push(update);
        } catch (err) {
          result.failures.push(err instanceof FieldFailure ? err.failure : failure(entity, undefined, err));
        }
      }
    }
    return result;
  }

  private async mapElement(
    entity: CompiledEntity,
    element: unknown,
    root: unknown,
  ): Promise<EntityUpdate | undefined> {
    const { config } = entity;
    if (entity.enabled && !truthy(await entity.enabled.evaluate(element, root))) return undefined;
    if (entity.condition && !truthy(await entity.condition.evaluate(element, root))) return undefined;

    const attributes: Record<string, unknown> = {};
    for (const field of entity.fields) {
      const f = field.config;
      if (f.enabled === false) continue;
      if (f.relations !== undefined || f.relation_refs !== undefined) continue;
      let value: unknown;
      try {
        if (field.enabled && !truthy(await field.enabled.evaluate(element, root))) continue;
        if (f.constant !== undefined) value = f.constant;
        else if (field.expression) value = await field.expression.evaluate(element, root);
        else if (f.field !== undefined) value = resolveField(f.field, element, root);
      } catch (err) {
        throw new FieldFailure(failure(entity, f.attribute, err));
      }
      if (value === undefined) continue;
      attributes[f.attribute] = f._type ? wrapRepeatable(f._type, value, f._tags) : value;
    }

    const unique_identifiers: Record<string, unknown> = {};
    for (const id of config.unique_ids) {
      const value = attributes[id];
      if (isEmpty(value)) {
        throw new FieldFailure({
          code: 'UNIQUE_ID_MISSING',
          entity_schema: config.entity_schema,
          entity_index: entity.index,
          attribute: id,
          message: `unique id "${id}" of ${config.entity_schema} has no value in this event`,
        });
      }
      unique_identifiers[id] = value;
    }
    const mode = config.mode ?? 'upsert';
    return {
      entity_slug: config.entity_schema,
      unique_identifiers,
      attributes,
      mode: mode === 'delete' || mode === 'purge' ? mode : 'upsert',
    };
  }
}

class FieldFailure extends Error {
  constructor(readonly failure: MappingFailure) {
    super(failure.message);
  }
}

function failure(entity: CompiledEntity, attribute: string | undefined, err: unknown): MappingFailure {
  const message =
    err instanceof ExpressionError ? `${err.message} (expression: ${err.source})` : (err as Error).message;
  return {
    code: 'MAPPING_EXPRESSION_FAILED',
    entity_schema: entity.config.entity_schema,
    entity_index: entity.index,
    ...(attribute ? { attribute } : {}),
    message: attribute ? `attribute "${attribute}": ${message}` : message,
  };
}

/** `_type: email|phone`: a scalar becomes `[{ email: v }]`; arrays of scalars wrap each element. */
export function wrapRepeatable(type: 'email' | 'phone', value: unknown, tags?: string[]): unknown {
  if (value === null) return null;
  const wrap = (v: unknown) =>
    v !== null && typeof v === 'object'
      ? v
      : { [type]: v, ...(tags && tags.length > 0 ? { _tags: tags } : {}) };
  return Array.isArray(value) ? value.map(wrap) : [wrap(value)];
}

function truthy(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== '' && value !== 0;
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
  );
}
