import {
  type Compile,
  type CompiledField,
  type CompiledUniqueId,
  compileField,
  compileUniqueIds,
  expressionFailure,
  type FailureContext,
  makeFailure,
  mapFields,
  resolveUniqueIds,
  UpdateFailure,
} from './compiled.js';
import type { CompiledExpression } from './expression.js';
import { OutputBudget } from './output.js';
import { normaliseTimestamp } from './timestamp.js';
import type { MappingResult, MappingWarning, MeterReadingConfig, MeterReadingUpdate } from './types.js';
import { isEmpty } from './values.js';

/** Fields every meter-reading configuration must map. */
export const METER_READING_REQUIRED_FIELDS = ['external_id', 'timestamp', 'source', 'value'] as const;
/** What an upserted reading cannot do without (issue 20): without one of these it is dropped. */
const METER_READING_USABLE_FIELDS = ['external_id', 'timestamp', 'value'] as const;
export const METER_READING_SOURCES = ['ECP', 'ERP', '360', 'journey-submission'] as const;
export const METER_READING_REASONS = [
  'regular',
  'irregular',
  'last',
  'first',
  'meter_change',
  'contract_change',
  'meter_adjustment',
] as const;

export interface CompiledMeterReading {
  index: number;
  config: MeterReadingConfig;
  expression?: CompiledExpression;
  meter: CompiledUniqueId[];
  counter?: CompiledUniqueId[];
  fields: CompiledField[];
}

export function compileMeterReading(
  config: MeterReadingConfig,
  index: number,
  compile: Compile,
): CompiledMeterReading {
  return {
    index,
    config,
    expression: compile(config.jsonataExpression),
    meter: compileUniqueIds(config.meter.unique_ids, compile),
    ...(config.meter_counter ? { counter: compileUniqueIds(config.meter_counter.unique_ids, compile) } : {}),
    fields: config.fields.map((f) => compileField(f, compile)),
  };
}

export async function mapMeterReadings(
  reading: CompiledMeterReading,
  payload: unknown,
  result: MappingResult,
  budget: OutputBudget = new OutputBudget(),
): Promise<void> {
  const { config } = reading;
  const mode = config.mode ?? 'upsert';
  const prune = mode === 'upsert-prune-scope';
  const ctx: FailureContext = {
    section: 'meter_readings',
    entity_schema: 'meter_reading',
    entity_index: reading.index,
  };
  let elements: unknown[];
  try {
    if (reading.expression) {
      const out = await reading.expression.evaluate(payload, payload);
      elements = out === undefined ? [] : Array.isArray(out) ? out : [out];
    } else {
      elements = [payload];
    }
  } catch (err) {
    result.failures.push(expressionFailure(ctx, undefined, err));
    if (prune) result.failures.push(pruneSkipped(ctx));
    return;
  }

  const updates: MeterReadingUpdate[] = [];
  let failed = false;
  for (const [i, element] of elements.entries()) {
    const elementCtx = reading.expression ? { ...ctx, element_index: i } : ctx;
    try {
      const warnings: MappingWarning[] = [];
      const update = await mapReading(reading, element, payload, elementCtx, warnings);
      budget.take(update, elementCtx, 'meter reading');
      updates.push(update);
      result.meter_readings_updates.push(update);
      result.warnings.push(...warnings);
    } catch (err) {
      failed = true;
      result.failures.push(expressionFailure(elementCtx, undefined, err));
    }
  }
  if (!prune) return;
  if (failed) {
    result.failures.push(pruneSkipped(ctx));
    return;
  }
  const source = config.scope?.source;
  const groups = new Map<string, MappingResult['meter_readings_prune_scope_updates'][number]>();
  for (const update of updates) {
    const key = JSON.stringify([update.meter, update.meter_counter ?? null]);
    let group = groups.get(key);
    if (!group) {
      group = {
        meter: update.meter,
        ...(update.meter_counter ? { meter_counter: update.meter_counter } : {}),
        keep_external_ids: [],
        ...(source ? { source } : {}),
      };
      groups.set(key, group);
    }
    group.keep_external_ids.push(String(update.attributes.external_id));
  }
  if (updates.length === 0) {
    // No reading in this event: prune everything of the meter, if the payload itself names the meter.
    try {
      const meter = await resolveUniqueIds(
        reading.meter,
        payload,
        payload,
        ctx,
        'meter',
        'meter',
        'UNIQUE_ID_MISSING',
      );
      const counter = reading.counter
        ? await resolveUniqueIds(
            reading.counter,
            payload,
            payload,
            ctx,
            'meter_counter',
            'meter counter',
            'UNIQUE_ID_MISSING',
          )
        : undefined;
      result.meter_readings_prune_scope_updates.push({
        meter: { $entity_unique_ids: meter },
        ...(counter ? { meter_counter: { $entity_unique_ids: counter } } : {}),
        keep_external_ids: [],
        ...(source ? { source } : {}),
      });
    } catch {
      result.warnings.push({
        entity_schema: 'meter_reading',
        field: 'meter.unique_ids',
        message: `meter_readings[${reading.index}]: no readings in this event and the meter cannot be resolved from the payload, so nothing is pruned`,
      });
    }
    return;
  }
  result.meter_readings_prune_scope_updates.push(...groups.values());
}

function pruneSkipped(ctx: FailureContext) {
  return makeFailure(
    ctx,
    'PRUNE_SCOPE_SKIPPED',
    'scope',
    `meter_readings[${ctx.entity_index}]: not pruning in this event because some readings failed to map`,
  );
}

async function mapReading(
  reading: CompiledMeterReading,
  element: unknown,
  root: unknown,
  ctx: FailureContext,
  warnings: MappingWarning[],
): Promise<MeterReadingUpdate> {
  const { config } = reading;
  const attributes = await mapFields(reading.fields, element, root, ctx);
  const meter = await resolveUniqueIds(
    reading.meter,
    element,
    root,
    ctx,
    'meter',
    'meter',
    'UNIQUE_ID_MISSING',
  );
  const counter = reading.counter
    ? await resolveUniqueIds(
        reading.counter,
        element,
        root,
        ctx,
        'meter_counter',
        'meter counter',
        'UNIQUE_ID_MISSING',
      )
    : undefined;
  const mode = config.mode === 'delete' ? 'delete' : 'upsert';
  const strictDate = config.reading_matching === 'strict-date';
  validateReading(attributes, mode, strictDate, ctx, (attribute, message) => {
    const j = config.fields.findIndex((f) => f.attribute === attribute);
    const path = `meter_readings[${ctx.entity_index}]${j >= 0 ? `.fields[${j}]` : ''}`;
    const element = ctx.element_index === undefined ? '' : ` (reading ${ctx.element_index})`;
    warnings.push({
      entity_schema: 'meter_reading',
      field: attribute,
      message: `${path}${element}: ${message}`,
    });
  });
  return {
    meter: { $entity_unique_ids: meter },
    ...(counter ? { meter_counter: { $entity_unique_ids: counter } } : {}),
    attributes,
    mode,
    ...(strictDate ? { reading_matching: 'strict-date' as const } : {}),
  };
}

/**
 * Checks one reading and normalises its timestamp in place. Only what makes a reading unusable fails it
 * (issue 20): an upsert needs external_id, a valid timestamp and a numeric value; a delete needs external_id
 * (and the timestamp with strict-date matching). Like the hosted product, a `source` or `reason` outside the
 * documented values (or no source) is kept as given, and reported through `warn`.
 */
function validateReading(
  attributes: Record<string, unknown>,
  mode: 'upsert' | 'delete',
  strictDate: boolean,
  ctx: FailureContext,
  warn: (attribute: string, message: string) => void,
): void {
  const invalid = (attribute: string, message: string) =>
    new UpdateFailure(makeFailure(ctx, 'METER_READING_INVALID', attribute, message));
  const required =
    mode === 'upsert'
      ? METER_READING_USABLE_FIELDS
      : strictDate
        ? ['external_id', 'timestamp']
        : ['external_id'];
  for (const name of required) {
    if (isEmpty(attributes[name])) throw invalid(name, `meter reading needs "${name}" but it has no value`);
  }
  const id = attributes.external_id;
  if (!isEmpty(id) && typeof id !== 'string' && typeof id !== 'number') {
    throw invalid('external_id', 'external_id must be a string or a number');
  }
  if (!isEmpty(attributes.timestamp)) {
    const ts = normaliseTimestamp(attributes.timestamp);
    if (!ts) {
      throw invalid(
        'timestamp',
        `timestamp ${JSON.stringify(attributes.timestamp)} is not ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss[.sss][Z|±HH:mm]); convert it with a jsonataExpression`,
      );
    }
    attributes.timestamp = ts;
  }
  const value = attributes.value;
  if (!isEmpty(value) && !isNumeric(value)) {
    throw invalid('value', `value ${JSON.stringify(value)} must be a number (or a numeric string)`);
  }
  const source = attributes.source;
  if (mode === 'upsert' && isEmpty(source)) {
    warn(
      'source',
      `no source; the reading is kept without one (documented values: ${METER_READING_SOURCES.join(', ')})`,
    );
  } else if (!isEmpty(source) && !(METER_READING_SOURCES as readonly unknown[]).includes(source)) {
    warn(
      'source',
      `source ${JSON.stringify(source)} is not one of the documented values (${METER_READING_SOURCES.join(', ')}); kept as given`,
    );
  }
  const reason = attributes.reason;
  if (
    reason !== undefined &&
    reason !== null &&
    reason !== '' &&
    !(METER_READING_REASONS as readonly unknown[]).includes(reason)
  ) {
    warn(
      'reason',
      `reason ${JSON.stringify(reason)} is not one of the documented values (${METER_READING_REASONS.join(', ')}); kept as given`,
    );
  }
}

function isNumeric(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value));
}
