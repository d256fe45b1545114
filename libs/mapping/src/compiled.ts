import { attributeNameProblem, uniqueIdValueProblem } from '@hub/contracts/attributes';
import {
  type CompiledExpression,
  compileExpression,
  ExpressionError,
  type ExpressionLimits,
} from './expression.js';
import { compileFieldPath, type FieldPath } from './path.js';
import type {
  ArrayOperation,
  FieldConfig,
  MappingFailure,
  MappingFailureCode,
  RelationUniqueIdField,
} from './types.js';
import { arrayOperationOf, isEmpty, isPlainObject, truthy, uniqueIdValue, wrapRepeatable } from './values.js';

/** Where a failure happened: the configuration entry and, when several, the element. */
export interface FailureContext {
  section: 'entities' | 'meter_readings';
  entity_schema: string;
  entity_index: number;
  element_index?: number;
}

/** Thrown inside the engine to fail one update; `map()` turns it into an entry of `failures`. */
export class UpdateFailure extends Error {
  constructor(readonly failure: MappingFailure) {
    super(failure.message);
  }
}

export function makeFailure(
  ctx: FailureContext,
  code: MappingFailureCode,
  attribute: string | undefined,
  message: string,
): MappingFailure {
  return {
    code,
    entity_schema: ctx.entity_schema,
    entity_index: ctx.entity_index,
    section: ctx.section,
    ...(ctx.element_index !== undefined ? { element_index: ctx.element_index } : {}),
    ...(attribute ? { attribute } : {}),
    message,
  };
}

export function expressionFailure(
  ctx: FailureContext,
  attribute: string | undefined,
  err: unknown,
): MappingFailure {
  if (err instanceof UpdateFailure) return err.failure;
  const message =
    err instanceof ExpressionError ? `${err.message} (expression: ${err.source})` : (err as Error).message;
  return makeFailure(
    ctx,
    'MAPPING_EXPRESSION_FAILED',
    attribute,
    attribute ? `attribute "${attribute}": ${message}` : message,
  );
}

export type Compile = (source: string | undefined) => CompiledExpression | undefined;

export function compilerFor(limits: ExpressionLimits): Compile {
  return (source) => (source ? compileExpression(source, limits) : undefined);
}

/** A value source: `constant` wins over `jsonataExpression`, which wins over `field`. */
export interface CompiledSource {
  hasConstant: boolean;
  constant?: unknown;
  expression?: CompiledExpression;
  /** The `field`, compiled once (a plain key or a JSONPath). */
  field?: FieldPath;
}

export function compileSource(
  config: { constant?: unknown; jsonataExpression?: string; field?: string },
  compile: Compile,
): CompiledSource {
  const hasConstant = config.constant !== undefined;
  return {
    hasConstant,
    constant: config.constant,
    expression: hasConstant ? undefined : compile(config.jsonataExpression),
    field:
      hasConstant || config.jsonataExpression || config.field === undefined
        ? undefined
        : compileFieldPath(config.field),
  };
}

export async function evaluateSource(source: CompiledSource, element: unknown, root: unknown) {
  if (source.hasConstant) return source.constant;
  if (source.expression) return source.expression.evaluate(element, root);
  if (source.field) return source.field(element, root);
  return undefined;
}

export interface CompiledUniqueId {
  attribute: string;
  type?: 'email' | 'phone';
  source: CompiledSource;
}

/** Decision 10: a plain string unique id is the attribute and the source field of the same name. */
export function compileUniqueIds(
  ids: Array<RelationUniqueIdField | string> | undefined,
  compile: Compile,
): CompiledUniqueId[] {
  return (ids ?? []).map((id) => {
    const config = typeof id === 'string' ? { attribute: id, field: id } : id;
    return {
      attribute: config.attribute,
      ...(config._type ? { type: config._type } : {}),
      source: compileSource(config, compile),
    };
  });
}

/**
 * Resolves unique ids to `{attribute: value}` (email/phone wrapped as on the entity). Every value must be
 * present: an empty one fails the update with `code`, never a lookup of everything.
 */
export async function resolveUniqueIds(
  ids: CompiledUniqueId[],
  element: unknown,
  root: unknown,
  ctx: FailureContext,
  attribute: string,
  what: string,
  code: MappingFailureCode,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const id of ids) {
    let value: unknown;
    try {
      value = await evaluateSource(id.source, element, root);
    } catch (err) {
      const failure = expressionFailure(ctx, attribute, err);
      throw new UpdateFailure({
        ...failure,
        message: `${what}, unique id "${id.attribute}": ${failure.message}`,
      });
    }
    if (isEmpty(value)) {
      throw new UpdateFailure(
        makeFailure(ctx, code, attribute, `${what}: unique id "${id.attribute}" has no value in this event`),
      );
    }
    const wrapped = id.type ? wrapRepeatable(id.type, value) : value;
    checkUniqueIdValue(wrapped, ctx, attribute, `${what}: unique id "${id.attribute}"`);
    out[id.attribute] = wrapped;
  }
  return out;
}

interface CompiledRelationItem {
  entity_schema: string;
  tags: string[];
  unique_ids: CompiledUniqueId[];
}

interface CompiledRefItem {
  entity_schema: string;
  unique_ids: CompiledUniqueId[];
  path: string;
  value_attribute: string;
  value_operation?: ArrayOperation;
  value: CompiledSource;
}

export interface CompiledField {
  config: FieldConfig;
  value: CompiledSource;
  enabled?: CompiledExpression;
  relations?: { operation: ArrayOperation; items?: CompiledRelationItem[]; expression?: CompiledExpression };
  relation_refs?: { operation: ArrayOperation; items?: CompiledRefItem[]; expression?: CompiledExpression };
}

export function compileField(config: FieldConfig, compile: Compile): CompiledField {
  const field: CompiledField = {
    config,
    value: compileSource(config, compile),
    ...(typeof config.enabled === 'string' ? { enabled: compile(config.enabled) } : {}),
  };
  const rel = config.relations;
  if (rel) {
    field.relations = {
      operation: rel.operation,
      ...(rel.jsonataExpression
        ? { expression: compile(rel.jsonataExpression) }
        : {
            items: (rel.items ?? []).map((item) => ({
              entity_schema: item.entity_schema,
              tags: item._tags ?? [],
              unique_ids: compileUniqueIds(item.unique_ids, compile),
            })),
          }),
    };
  }
  const refs = config.relation_refs;
  if (refs) {
    field.relation_refs = {
      operation: refs.operation,
      ...(refs.jsonataExpression
        ? { expression: compile(refs.jsonataExpression) }
        : {
            items: (refs.items ?? []).map((item) => ({
              entity_schema: item.entity_schema,
              unique_ids: compileUniqueIds(item.unique_ids, compile),
              path: item.path,
              value_attribute: item.value.attribute,
              ...(item.value.operation ? { value_operation: item.value.operation } : {}),
              value: compileSource(item.value, compile),
            })),
          }),
    };
  }
  return field;
}

/**
 * Evaluates the fields of one element into attributes. A field failing fails the whole update
 * (thrown as UpdateFailure); `undefined` leaves the attribute out.
 */
export async function mapFields(
  fields: CompiledField[],
  element: unknown,
  root: unknown,
  ctx: FailureContext,
): Promise<Record<string, unknown>> {
  const attributes: Record<string, unknown> = {};
  for (const field of fields) {
    const f = field.config;
    if (f.enabled === false) continue;
    let value: unknown;
    try {
      if (field.enabled && !truthy(await field.enabled.evaluate(element, root))) continue;
      if (field.relations) value = await relationValue(field, element, root, ctx);
      else if (field.relation_refs) value = await relationRefValue(field, element, root, ctx);
      else value = await evaluateSource(field.value, element, root);
    } catch (err) {
      throw new UpdateFailure(expressionFailure(ctx, f.attribute, err));
    }
    if (value === undefined) continue;
    const plain = !field.relations && !field.relation_refs;
    attributes[f.attribute] = f._type && plain ? wrapRepeatable(f._type, value, f._tags) : value;
  }
  return attributes;
}

async function relationValue(field: CompiledField, element: unknown, root: unknown, ctx: FailureContext) {
  const rel = field.relations!;
  const attribute = field.config.attribute;
  const out: unknown[] = [];
  if (rel.expression) {
    const produced = await rel.expression.evaluate(element, root);
    if (produced === undefined) return undefined;
    const items = Array.isArray(produced) ? produced : [produced];
    items.forEach((raw, i) => {
      out.push(relationItemFromData(raw, ctx, attribute, i));
    });
  } else {
    for (const [i, item] of (rel.items ?? []).entries()) {
      const ids = await resolveUniqueIds(
        item.unique_ids,
        element,
        root,
        ctx,
        attribute,
        `relation "${attribute}" item ${i} (${item.entity_schema})`,
        'RELATION_UNIQUE_ID_MISSING',
      );
      out.push({ $entity_unique_ids: ids, _schema: item.entity_schema, _tags: item.tags });
    }
  }
  return { $relation: { [rel.operation]: out } };
}

/** An item produced by JSONata: `{_schema|entity_schema, $entity_unique_ids|unique_ids: {...}, _tags?}`. */
function relationItemFromData(raw: unknown, ctx: FailureContext, attribute: string, i: number) {
  const what = `relation "${attribute}" item ${i}`;
  const { schema, ids } = schemaAndIds(raw, ctx, attribute, what);
  const tags = (raw as Record<string, unknown>)._tags;
  if (tags !== undefined && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))) {
    throw new UpdateFailure(
      makeFailure(ctx, 'RELATION_ITEM_INVALID', attribute, `${what}: _tags must be an array of strings`),
    );
  }
  return { $entity_unique_ids: ids, _schema: schema, _tags: tags ?? [] };
}

function schemaAndIds(raw: unknown, ctx: FailureContext, attribute: string, what: string) {
  const invalid = (message: string) =>
    new UpdateFailure(makeFailure(ctx, 'RELATION_ITEM_INVALID', attribute, `${what}: ${message}`));
  if (!isPlainObject(raw)) throw invalid('must be an object');
  const schema = raw._schema ?? raw.entity_schema;
  if (typeof schema !== 'string' || schema === '') throw invalid('needs _schema (or entity_schema)');
  const ids = raw.$entity_unique_ids ?? raw.unique_ids;
  if (!isPlainObject(ids) || Object.keys(ids).length === 0) {
    throw invalid('needs $entity_unique_ids (or unique_ids) as a non-empty object');
  }
  const names = Object.keys(ids);
  for (const [key, value] of Object.entries(ids)) {
    const nameProblem = key === '_id' && names.length === 1 ? undefined : attributeNameProblem(key);
    if (nameProblem) {
      throw new UpdateFailure(
        makeFailure(
          ctx,
          'UNIQUE_ID_INVALID',
          attribute,
          `${what} (${schema}): unique id "${key}" ${nameProblem}`,
        ),
      );
    }
    if (isEmpty(value)) {
      throw new UpdateFailure(
        makeFailure(
          ctx,
          'RELATION_UNIQUE_ID_MISSING',
          attribute,
          `${what} (${schema}): unique id "${key}" has no value in this event`,
        ),
      );
    }
  }
  for (const [key, value] of Object.entries(ids)) {
    checkUniqueIdValue(value, ctx, attribute, `${what} (${schema}): unique id "${key}"`);
  }
  return { schema, ids: ids as Record<string, unknown> };
}

async function relationRefValue(field: CompiledField, element: unknown, root: unknown, ctx: FailureContext) {
  const refs = field.relation_refs!;
  const attribute = field.config.attribute;
  const out: unknown[] = [];
  if (refs.expression) {
    const produced = await refs.expression.evaluate(element, root);
    if (produced === undefined) return undefined;
    const items = Array.isArray(produced) ? produced : [produced];
    items.forEach((raw, i) => {
      const what = `relation_ref "${attribute}" item ${i}`;
      const { schema, ids } = schemaAndIds(raw, ctx, attribute, what);
      const r = raw as Record<string, unknown>;
      const invalid = (message: string) =>
        new UpdateFailure(makeFailure(ctx, 'RELATION_ITEM_INVALID', attribute, `${what}: ${message}`));
      if (typeof r.path !== 'string' || r.path === '') throw invalid('needs path');
      const pathProblem = attributeNameProblem(r.path);
      if (pathProblem) throw invalid(`path ${JSON.stringify(r.path)} ${pathProblem}`);
      if (r.value === undefined) throw invalid('needs value');
      const op = r.value_operation;
      if (op !== undefined && !['_set', '_append', '_append_all'].includes(op as string)) {
        throw invalid('value_operation must be _set, _append or _append_all');
      }
      out.push({
        $entity_unique_ids: ids,
        _schema: schema,
        path: r.path,
        value: r.value,
        value_attribute: typeof r.value_attribute === 'string' ? r.value_attribute : r.path,
        ...(op ? { value_operation: op } : {}),
      });
    });
  } else {
    for (const [i, item] of (refs.items ?? []).entries()) {
      const what = `relation_ref "${attribute}" item ${i} (${item.entity_schema})`;
      const ids = await resolveUniqueIds(
        item.unique_ids,
        element,
        root,
        ctx,
        attribute,
        what,
        'RELATION_UNIQUE_ID_MISSING',
      );
      const value = await evaluateSource(item.value, element, root);
      if (value === undefined) {
        throw new UpdateFailure(
          makeFailure(ctx, 'RELATION_ITEM_INVALID', attribute, `${what}: value has no value in this event`),
        );
      }
      out.push({
        $entity_unique_ids: ids,
        _schema: item.entity_schema,
        path: item.path,
        value,
        value_attribute: item.value_attribute,
        ...(item.value_operation ? { value_operation: item.value_operation } : {}),
      });
    }
  }
  return { $relation_ref: { [refs.operation]: out } };
}

/** Unique identifiers of an update, taken from its attributes; each must have a value. */
export function uniqueIdentifiers(
  attributes: Record<string, unknown>,
  ids: string[],
  ctx: FailureContext,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const id of ids) {
    const value = attributes[id];
    if (isEmpty(value)) {
      throw new UpdateFailure(
        makeFailure(
          ctx,
          'UNIQUE_ID_MISSING',
          id,
          `unique id "${id}" of ${ctx.entity_schema} has no value in this event`,
        ),
      );
    }
    out[id] = uniqueIdValue(value);
    checkUniqueIdValue(out[id], ctx, id, `unique id "${id}" of ${ctx.entity_schema}`);
  }
  return out;
}

/** A unique-id value is a plain value (never an object that a database would read as an operator). */
export function checkUniqueIdValue(
  value: unknown,
  ctx: FailureContext,
  attribute: string,
  what: string,
): void {
  const problem = uniqueIdValueProblem(value);
  if (problem)
    throw new UpdateFailure(makeFailure(ctx, 'UNIQUE_ID_INVALID', attribute, `${what} ${problem}`));
}

export { arrayOperationOf };
