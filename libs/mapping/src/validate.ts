import Type from 'typebox';
import { Value } from 'typebox/value';
import { compileExpression } from './expression.js';
import { FieldPathError, resolveField } from './path.js';

const BoolOrExpression = Type.Union([Type.Boolean(), Type.String({ minLength: 1 })]);

const FieldSchema = Type.Object({
  attribute: Type.String({ minLength: 1 }),
  field: Type.Optional(Type.String({ minLength: 1 })),
  jsonataExpression: Type.Optional(Type.String({ minLength: 1 })),
  constant: Type.Optional(Type.Unknown()),
  _type: Type.Optional(Type.Union([Type.Literal('email'), Type.Literal('phone')])),
  _tags: Type.Optional(Type.Array(Type.String())),
  enabled: Type.Optional(BoolOrExpression),
  relations: Type.Optional(Type.Object({})),
  relation_refs: Type.Optional(Type.Object({})),
});

const EntitySchema = Type.Object({
  entity_schema: Type.String({ minLength: 1 }),
  unique_ids: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  fields: Type.Array(FieldSchema),
  jsonataExpression: Type.Optional(Type.String({ minLength: 1 })),
  enabled: Type.Optional(BoolOrExpression),
  condition: Type.Optional(Type.String({ minLength: 1 })),
  mode: Type.Optional(
    Type.Union(
      ['upsert', 'delete', 'purge', 'upsert-prune-scope-purge', 'upsert-prune-scope-delete'].map((m) =>
        Type.Literal(m),
      ),
    ),
  ),
  scope: Type.Optional(Type.Object({})),
});

const ConfigurationSchema = Type.Object({
  entities: Type.Optional(Type.Array(EntitySchema)),
  meter_readings: Type.Optional(Type.Array(Type.Object({}))),
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
    problems.push({ path: path + extra, message: e.keyword === 'required' ? 'is required' : e.message });
  }
  if (problems.length > 0) return problems.slice(0, 50);

  const config = configuration as { entities?: Array<Record<string, unknown>> };
  (config.entities ?? []).forEach((entity, i) => {
    const at = `${base}.entities[${i}]`;
    const check = (path: string, source: unknown) => {
      if (typeof source !== 'string') return;
      try {
        compileExpression(source);
      } catch (err) {
        problems.push({ path, message: `invalid JSONata: ${(err as Error).message}` });
      }
    };
    check(`${at}.jsonataExpression`, entity.jsonataExpression);
    check(`${at}.enabled`, entity.enabled);
    check(`${at}.condition`, entity.condition);
    const fields = entity.fields as Array<Record<string, unknown>>;
    fields.forEach((field, j) => {
      const fat = `${at}.fields[${j}]`;
      check(`${fat}.jsonataExpression`, field.jsonataExpression);
      check(`${fat}.enabled`, field.enabled);
      if (typeof field.field === 'string' && field.field.startsWith('$')) {
        try {
          resolveField(field.field, {}, {});
        } catch (err) {
          if (err instanceof FieldPathError) problems.push({ path: `${fat}.field`, message: err.message });
        }
      }
      const sources = ['constant', 'jsonataExpression', 'field'].filter((k) => field[k] !== undefined);
      if (sources.length === 0 && field.relations === undefined && field.relation_refs === undefined) {
        problems.push({
          path: fat,
          message: 'has no source: set one of constant, jsonataExpression or field',
        });
      }
    });
    const mapped = new Set(fields.map((f) => f.attribute));
    (entity.unique_ids as string[]).forEach((id, k) => {
      if (id !== '_id' && !mapped.has(id)) {
        problems.push({
          path: `${at}.unique_ids[${k}]`,
          message: `unique id "${id}" is not mapped by any field`,
        });
      }
    });
  });
  return problems;
}
