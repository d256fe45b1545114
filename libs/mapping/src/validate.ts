import { attributeNameProblem } from '@hub/contracts/attributes';
import Type from 'typebox';
import { Value } from 'typebox/value';
import { compileExpression } from './expression.js';
import { METER_READING_REQUIRED_FIELDS } from './meter-readings.js';
import { compileFieldPath, FieldPathError } from './path.js';

const BoolOrExpression = Type.Union([Type.Boolean(), Type.String({ minLength: 1 })]);
const NonEmpty = Type.String({ minLength: 1 });
const Operation = Type.Enum(['_set', '_append', '_append_all']);
const RepeatableType = Type.Enum(['email', 'phone']);

const UniqueIdField = Type.Object({
  attribute: NonEmpty,
  field: Type.Optional(NonEmpty),
  jsonataExpression: Type.Optional(NonEmpty),
  constant: Type.Optional(Type.Unknown()),
  _type: Type.Optional(RepeatableType),
});

const RelationConfig = Type.Object({
  operation: Operation,
  items: Type.Optional(
    Type.Array(
      Type.Object({
        entity_schema: NonEmpty,
        _tags: Type.Optional(Type.Array(Type.String())),
        unique_ids: Type.Array(UniqueIdField, { minItems: 1 }),
      }),
    ),
  ),
  jsonataExpression: Type.Optional(NonEmpty),
});

const RelationRefsConfig = Type.Object({
  operation: Operation,
  items: Type.Optional(
    Type.Array(
      Type.Object({
        entity_schema: NonEmpty,
        unique_ids: Type.Array(UniqueIdField, { minItems: 1 }),
        path: NonEmpty,
        value: Type.Object({
          attribute: NonEmpty,
          operation: Type.Optional(Operation),
          field: Type.Optional(NonEmpty),
          jsonataExpression: Type.Optional(NonEmpty),
          constant: Type.Optional(Type.Unknown()),
        }),
      }),
    ),
  ),
  jsonataExpression: Type.Optional(NonEmpty),
});

const FieldSchema = Type.Object({
  attribute: NonEmpty,
  field: Type.Optional(NonEmpty),
  jsonataExpression: Type.Optional(NonEmpty),
  constant: Type.Optional(Type.Unknown()),
  _type: Type.Optional(RepeatableType),
  _tags: Type.Optional(Type.Array(Type.String())),
  enabled: Type.Optional(BoolOrExpression),
  relations: Type.Optional(RelationConfig),
  relation_refs: Type.Optional(RelationRefsConfig),
});

const PruneScope = Type.Object({
  scope_mode: Type.Enum(['relations', 'query']),
  schema: Type.Optional(NonEmpty),
  unique_ids: Type.Optional(Type.Array(UniqueIdField)),
  query: Type.Optional(Type.Array(UniqueIdField)),
});

const EntitySchema = Type.Object({
  entity_schema: NonEmpty,
  unique_ids: Type.Array(NonEmpty, { minItems: 1 }),
  fields: Type.Array(FieldSchema),
  jsonataExpression: Type.Optional(NonEmpty),
  enabled: Type.Optional(BoolOrExpression),
  condition: Type.Optional(NonEmpty),
  mode: Type.Optional(
    Type.Enum(['upsert', 'delete', 'purge', 'upsert-prune-scope-purge', 'upsert-prune-scope-delete']),
  ),
  scope: Type.Optional(PruneScope),
});

/** Decision 10: meter unique ids may be plain strings (attribute and source field of the same name). */
const MeterUniqueIds = Type.Object({
  unique_ids: Type.Array(Type.Union([NonEmpty, UniqueIdField]), { minItems: 1 }),
});

const MeterReadingSchema = Type.Object({
  jsonataExpression: Type.Optional(NonEmpty),
  reading_matching: Type.Optional(Type.Enum(['external_id', 'strict-date'])),
  mode: Type.Optional(Type.Enum(['upsert', 'delete', 'upsert-prune-scope'])),
  scope: Type.Optional(Type.Object({ source: Type.Optional(Type.String()) })),
  meter: MeterUniqueIds,
  meter_counter: Type.Optional(MeterUniqueIds),
  fields: Type.Array(FieldSchema),
});

const ConfigurationSchema = Type.Object({
  entities: Type.Optional(Type.Array(EntitySchema)),
  meter_readings: Type.Optional(Type.Array(MeterReadingSchema)),
});

export interface ConfigurationProblem {
  /** Where, e.g. `configuration.entities[0].fields[2].jsonataExpression`. */
  path: string;
  message: string;
}

/**
 * Validates an inbound use-case configuration: its shape, the syntax of every JSONata expression,
 * every JSONPath `field`, and that each unique id is mapped by some field. Returns every problem.
 */
export function validateInboundConfiguration(
  configuration: unknown,
  base = 'configuration',
): ConfigurationProblem[] {
  const problems: ConfigurationProblem[] = [];
  for (const e of Value.Errors(ConfigurationSchema, configuration)) {
    const path = base + e.instancePath.replace(/\/(\d+)/g, '[$1]').replaceAll('/', '.');
    const extra =
      e.keyword === 'required'
        ? `.${((e.params as { requiredProperties?: string[] }).requiredProperties ?? []).join(',')}`
        : '';
    const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
    const message =
      e.keyword === 'required'
        ? 'is required'
        : e.keyword === 'enum' && allowed
          ? `must be one of ${allowed.join(', ')}`
          : e.message;
    problems.push({ path: path + extra, message });
  }
  if (problems.length > 0) return problems.slice(0, 50);

  const config = configuration as {
    entities?: Array<Record<string, unknown>>;
    meter_readings?: Array<Record<string, unknown>>;
  };
  const check = (path: string, source: unknown) => {
    if (typeof source !== 'string') return;
    try {
      compileExpression(source);
    } catch (err) {
      problems.push({ path, message: `invalid JSONata: ${(err as Error).message}` });
    }
  };
  const checkPath = (path: string, field: unknown) => {
    if (typeof field === 'string' && field.startsWith('$')) {
      try {
        compileFieldPath(field);
      } catch (err) {
        if (err instanceof FieldPathError) problems.push({ path, message: err.message });
      }
    }
  };
  // Issue 10: a name that is reserved, an operator or a path could reach a database filter or overwrite
  // the store's own fields. `_id` names an entity by its id, which is allowed only as the one unique id.
  const checkName = (path: string, name: unknown, allowId = false) => {
    if (typeof name !== 'string' || (allowId && name === '_id')) return;
    const problem = attributeNameProblem(name);
    if (problem) problems.push({ path, message: `${JSON.stringify(name)} ${problem}` });
  };
  const checkIdNames = (at: string, names: unknown[], allowId = true) => {
    names.forEach((id, k) => {
      const name = typeof id === 'string' ? id : (id as Record<string, unknown>).attribute;
      const path = typeof id === 'string' ? `${at}[${k}]` : `${at}[${k}].attribute`;
      checkName(path, name, allowId && names.length === 1);
    });
  };
  const hasSource = (v: Record<string, unknown>) =>
    v.constant !== undefined || v.jsonataExpression !== undefined || v.field !== undefined;
  const checkUniqueIds = (at: string, ids: unknown, allowId = true) => {
    checkIdNames(at, (ids ?? []) as unknown[], allowId);
    ((ids ?? []) as Array<Record<string, unknown> | string>).forEach((id, k) => {
      if (typeof id === 'string') return;
      check(`${at}[${k}].jsonataExpression`, id.jsonataExpression);
      checkPath(`${at}[${k}].field`, id.field);
      if (!hasSource(id)) {
        problems.push({
          path: `${at}[${k}]`,
          message: 'has no source: set one of constant, jsonataExpression or field',
        });
      }
    });
  };
  const checkFields = (at: string, fields: Array<Record<string, unknown>>) => {
    fields.forEach((field, j) => {
      const fat = `${at}.fields[${j}]`;
      checkName(`${fat}.attribute`, field.attribute, true);
      check(`${fat}.jsonataExpression`, field.jsonataExpression);
      check(`${fat}.enabled`, field.enabled);
      checkPath(`${fat}.field`, field.field);
      const relations = field.relations as Record<string, unknown> | undefined;
      const refs = field.relation_refs as Record<string, unknown> | undefined;
      if (relations && refs) {
        problems.push({ path: fat, message: 'set either relations or relation_refs, not both' });
      }
      for (const [key, rel] of [
        ['relations', relations],
        ['relation_refs', refs],
      ] as const) {
        if (!rel) continue;
        const rat = `${fat}.${key}`;
        if (rel.items === undefined && rel.jsonataExpression === undefined) {
          problems.push({ path: rat, message: 'needs items or a jsonataExpression that yields the items' });
        } else if (rel.items !== undefined && rel.jsonataExpression !== undefined) {
          problems.push({ path: rat, message: 'set either items or jsonataExpression, not both' });
        }
        check(`${rat}.jsonataExpression`, rel.jsonataExpression);
        ((rel.items ?? []) as Array<Record<string, unknown>>).forEach((item, k) => {
          checkUniqueIds(`${rat}.items[${k}].unique_ids`, item.unique_ids);
          checkName(`${rat}.items[${k}].path`, item.path);
          const value = item.value as Record<string, unknown> | undefined;
          if (value) {
            check(`${rat}.items[${k}].value.jsonataExpression`, value.jsonataExpression);
            checkPath(`${rat}.items[${k}].value.field`, value.field);
            if (!hasSource(value)) {
              problems.push({
                path: `${rat}.items[${k}].value`,
                message: 'has no source: set one of constant, jsonataExpression or field',
              });
            }
          }
        });
      }
      if (!hasSource(field) && !relations && !refs) {
        problems.push({
          path: fat,
          message: 'has no source: set one of constant, jsonataExpression or field',
        });
      }
    });
  };

  (config.entities ?? []).forEach((entity, i) => {
    const at = `${base}.entities[${i}]`;
    check(`${at}.jsonataExpression`, entity.jsonataExpression);
    check(`${at}.enabled`, entity.enabled);
    check(`${at}.condition`, entity.condition);
    const fields = entity.fields as Array<Record<string, unknown>>;
    checkFields(at, fields);
    const mapped = new Set(fields.map((f) => f.attribute));
    checkIdNames(`${at}.unique_ids`, entity.unique_ids as string[]);
    (entity.unique_ids as string[]).forEach((id, k) => {
      if (id !== '_id' && !mapped.has(id)) {
        problems.push({
          path: `${at}.unique_ids[${k}]`,
          message: `unique id "${id}" is not mapped by any field`,
        });
      }
    });
    const mode = entity.mode as string | undefined;
    const scope = entity.scope as Record<string, unknown> | undefined;
    if (mode?.startsWith('upsert-prune-scope-') && !scope) {
      problems.push({ path: `${at}.scope`, message: `mode ${mode} needs a scope` });
    }
    if (scope) {
      if (scope.scope_mode === 'relations') {
        if (!scope.schema)
          problems.push({ path: `${at}.scope.schema`, message: 'is required for scope_mode relations' });
        if (!Array.isArray(scope.unique_ids) || scope.unique_ids.length === 0) {
          problems.push({ path: `${at}.scope.unique_ids`, message: 'is required for scope_mode relations' });
        }
        checkUniqueIds(`${at}.scope.unique_ids`, scope.unique_ids);
      } else {
        if (!Array.isArray(scope.query) || scope.query.length === 0) {
          problems.push({ path: `${at}.scope.query`, message: 'is required for scope_mode query' });
        }
        checkUniqueIds(`${at}.scope.query`, scope.query, false);
      }
    }
  });

  (config.meter_readings ?? []).forEach((reading, i) => {
    const at = `${base}.meter_readings[${i}]`;
    check(`${at}.jsonataExpression`, reading.jsonataExpression);
    checkUniqueIds(`${at}.meter.unique_ids`, (reading.meter as Record<string, unknown>).unique_ids);
    if (reading.meter_counter) {
      checkUniqueIds(
        `${at}.meter_counter.unique_ids`,
        (reading.meter_counter as Record<string, unknown>).unique_ids,
      );
    }
    const fields = reading.fields as Array<Record<string, unknown>>;
    checkFields(at, fields);
    const mapped = new Set(fields.map((f) => f.attribute));
    const missing = METER_READING_REQUIRED_FIELDS.filter((name) => !mapped.has(name));
    if (missing.length > 0) {
      problems.push({
        path: `${at}.fields`,
        message: `must map ${missing.map((m) => `"${m}"`).join(', ')} (every reading needs ${METER_READING_REQUIRED_FIELDS.join(', ')})`,
      });
    }
    // A constant source or reason outside the documented values is kept as given (issue 20), and a
    // simulation warns about it.
  });
  return problems;
}
