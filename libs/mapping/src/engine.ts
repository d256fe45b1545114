import {
  type CompiledField,
  type CompiledUniqueId,
  compileField,
  compilerFor,
  compileUniqueIds,
  expressionFailure,
  type FailureContext,
  makeFailure,
  mapFields,
  resolveUniqueIds,
  UpdateFailure,
  uniqueIdentifiers,
} from './compiled.js';
import { type CompiledExpression, DEFAULT_LIMITS, type ExpressionLimits } from './expression.js';
import { type CompiledMeterReading, compileMeterReading, mapMeterReadings } from './meter-readings.js';
import { DEFAULT_OUTPUT_LIMITS, OutputBudget, type OutputLimits } from './output.js';
import type {
  EntityConfig,
  EntityPruneScopeUpdate,
  EntityUpdate,
  InboundConfiguration,
  MappingResult,
  MappingWarning,
} from './types.js';
import { truthy } from './values.js';

export { wrapRepeatable } from './values.js';

interface CompiledScope {
  scope_mode: 'relations' | 'query';
  schema?: string;
  unique_ids: CompiledUniqueId[];
  query: CompiledUniqueId[];
}

interface CompiledEntity {
  index: number;
  config: EntityConfig;
  expression?: CompiledExpression;
  enabled?: CompiledExpression;
  condition?: CompiledExpression;
  fields: CompiledField[];
  /** Set for the upsert-prune-scope modes. */
  prune?: { deletion_mode: 'delete' | 'purge'; scope?: CompiledScope };
}

/** A use case's configuration compiled once (per configuration revision) and reused for every event. */
export class CompiledMapping {
  private constructor(
    private readonly entities: CompiledEntity[],
    private readonly meterReadings: CompiledMeterReading[],
    private readonly staticWarnings: MappingWarning[],
  ) {}

  /** Compiles every expression; throws ExpressionError naming the first expression that does not parse. */
  static compile(
    configuration: InboundConfiguration,
    limits: ExpressionLimits = DEFAULT_LIMITS,
  ): CompiledMapping {
    const compile = compilerFor(limits);
    const entities = (configuration.entities ?? []).map((config, index): CompiledEntity => {
      const mode = config.mode ?? 'upsert';
      const scope = config.scope;
      return {
        index,
        config,
        expression: compile(config.jsonataExpression),
        enabled: typeof config.enabled === 'string' ? compile(config.enabled) : undefined,
        condition: compile(config.condition),
        fields: config.fields.map((f) => compileField(f, compile)),
        ...(mode.startsWith('upsert-prune-scope-')
          ? {
              prune: {
                deletion_mode: mode === 'upsert-prune-scope-purge' ? 'purge' : 'delete',
                ...(scope
                  ? {
                      scope: {
                        scope_mode: scope.scope_mode,
                        ...(scope.schema ? { schema: scope.schema } : {}),
                        unique_ids: compileUniqueIds(scope.unique_ids, compile),
                        query: compileUniqueIds(scope.query, compile),
                      },
                    }
                  : {}),
              },
            }
          : {}),
      };
    });
    const meterReadings = (configuration.meter_readings ?? []).map((config, index) =>
      compileMeterReading(config, index, compile),
    );
    return new CompiledMapping(entities, meterReadings, []);
  }

  /**
   * Maps one payload into entity updates, meter-reading updates and prune scopes. Never throws for a single
   * bad update: it is listed in `failures` and its siblings go on; so is an update past the output limits
   * (`MAPPING_OUTPUT_TOO_LARGE`).
   */
  async map(payload: unknown, output: OutputLimits = DEFAULT_OUTPUT_LIMITS): Promise<MappingResult> {
    const result: MappingResult = {
      entity_updates: [],
      meter_readings_updates: [],
      prune_scope_updates: [],
      meter_readings_prune_scope_updates: [],
      warnings: [...this.staticWarnings],
      failures: [],
    };
    const budget = new OutputBudget(output);
    for (const entity of this.entities) await this.mapEntity(entity, payload, result, budget);
    for (const reading of this.meterReadings) await mapMeterReadings(reading, payload, result, budget);
    return result;
  }

  private async mapEntity(
    entity: CompiledEntity,
    payload: unknown,
    result: MappingResult,
    budget: OutputBudget,
  ): Promise<void> {
    const { config } = entity;
    if (config.enabled === false) return;
    const ctx: FailureContext = {
      section: 'entities',
      entity_schema: config.entity_schema,
      entity_index: entity.index,
    };
    let elements: unknown[];
    try {
      if (entity.expression) {
        const out = await entity.expression.evaluate(payload, payload);
        elements = out === undefined ? [] : Array.isArray(out) ? out : [out];
      } else {
        elements = [payload];
      }
    } catch (err) {
      result.failures.push(expressionFailure(ctx, undefined, err));
      if (entity.prune) result.failures.push(pruneSkipped(ctx));
      return;
    }
    const kept: Array<Record<string, unknown>> = [];
    let failed = false;
    for (const [i, element] of elements.entries()) {
      const elementCtx = entity.expression ? { ...ctx, element_index: i } : ctx;
      try {
        const update = await this.mapElement(entity, element, payload, elementCtx);
        if (update) budget.take(update, elementCtx);
        if (update) {
          result.entity_updates.push(update);
          kept.push(update.unique_identifiers);
        }
      } catch (err) {
        failed = true;
        result.failures.push(expressionFailure(elementCtx, undefined, err));
      }
    }
    if (!entity.prune) return;
    if (failed) {
      result.failures.push(pruneSkipped(ctx));
      return;
    }
    try {
      const scope = await resolvePruneScope(entity, payload, kept, ctx);
      budget.take(scope, ctx, 'prune scope');
      result.prune_scope_updates.push(scope);
    } catch (err) {
      result.failures.push(expressionFailure(ctx, 'scope', err));
    }
  }

  private async mapElement(
    entity: CompiledEntity,
    element: unknown,
    root: unknown,
    ctx: FailureContext,
  ): Promise<EntityUpdate | undefined> {
    const { config } = entity;
    try {
      if (entity.enabled && !truthy(await entity.enabled.evaluate(element, root))) return undefined;
      if (entity.condition && !truthy(await entity.condition.evaluate(element, root))) return undefined;
    } catch (err) {
      throw new UpdateFailure(expressionFailure(ctx, undefined, err));
    }
    const attributes = await mapFields(entity.fields, element, root, ctx);
    const unique_identifiers = uniqueIdentifiers(attributes, config.unique_ids, ctx);
    const mode = config.mode ?? 'upsert';
    return {
      entity_slug: config.entity_schema,
      unique_identifiers,
      attributes,
      mode: mode === 'delete' || mode === 'purge' ? mode : 'upsert',
    };
  }
}

function pruneSkipped(ctx: FailureContext) {
  const { element_index: _ignored, ...entityCtx } = ctx;
  return makeFailure(
    entityCtx,
    'PRUNE_SCOPE_SKIPPED',
    'scope',
    `${ctx.entity_schema}: not pruning in this event because some of its elements failed to map`,
  );
}

/** The scope is evaluated on the original payload, never on an element. */
async function resolvePruneScope(
  entity: CompiledEntity,
  payload: unknown,
  keep: Array<Record<string, unknown>>,
  ctx: FailureContext,
): Promise<EntityPruneScopeUpdate> {
  const { prune, config } = entity;
  const scope = prune!.scope;
  const invalid = (message: string) =>
    new UpdateFailure(makeFailure(ctx, 'PRUNE_SCOPE_INVALID', 'scope', message));
  if (!scope) throw invalid(`mode ${config.mode} needs a scope`);
  let resolved: EntityPruneScopeUpdate['scope'];
  if (scope.scope_mode === 'relations') {
    if (!scope.schema || scope.unique_ids.length === 0) {
      throw invalid('scope_mode "relations" needs schema and unique_ids');
    }
    const unique_ids = await resolveUniqueIds(
      scope.unique_ids,
      payload,
      payload,
      ctx,
      'scope',
      `prune scope (${scope.schema})`,
      'PRUNE_SCOPE_INVALID',
    );
    resolved = { scope_mode: 'relations', schema: scope.schema, unique_ids };
  } else {
    if (scope.query.length === 0) throw invalid('scope_mode "query" needs query');
    const query = await resolveUniqueIds(
      scope.query,
      payload,
      payload,
      ctx,
      'scope',
      'prune scope query',
      'PRUNE_SCOPE_INVALID',
    );
    resolved = { scope_mode: 'query', query };
  }
  return {
    entity_slug: config.entity_schema,
    scope: resolved,
    keep_unique_ids: keep,
    deletion_mode: prune!.deletion_mode,
  };
}
