import type {
  IntegrationRecord,
  QuarantineView,
  UseCaseQuarantineMessage,
  UseCaseRecord,
} from '@hub/contracts';
import Type from 'typebox';
import { REFERENCE_SCHEMAS } from './reference-schemas.js';

/** API shapes: the stored records without our internal revision counter. */
export function integrationView(record: IntegrationRecord): Record<string, unknown> {
  const { revision: _r, ...rest } = record;
  return rest;
}

/**
 * A use case as the API shows it: the stored record without the revision, plus our additive `status`
 * (`active`, or `quarantined` with `quarantined_since`, `quarantine_code` and `quarantine_reason` while the
 * mapper parks the events of its current configuration; ADR 0015, decision 13).
 */
export function useCaseView(
  record: UseCaseRecord,
  quarantine?: UseCaseQuarantineMessage,
): Record<string, unknown> {
  const { revision: _r, ...rest } = record;
  if (!quarantine || quarantine.revision !== record.revision) return { ...rest, status: 'active' };
  return {
    ...rest,
    status: 'quarantined',
    quarantined_since: quarantine.since,
    quarantine_code: quarantine.code,
    quarantine_reason: quarantine.reason,
  };
}

/** The use case view of the organisation's records, with the quarantines the config-service mirrors. */
export const useCaseViews =
  (quarantines: QuarantineView, orgId: string) =>
  (record: UseCaseRecord): Record<string, unknown> =>
    useCaseView(record, quarantines.of(orgId, record.id, record.revision));

export const IntegrationParams = Type.Object({ integrationId: Type.String({ format: 'uuid' }) });
export const UseCaseParams = Type.Object({
  integrationId: Type.String({ format: 'uuid' }),
  useCaseId: Type.String({ format: 'uuid' }),
});

/**
 * The reference's own schemas of the free-form fields (src/reference-schemas.ts, generated): what we store
 * is given back, so it must have the documented types (a fuzzer found `{}` returned where a string is
 * documented).
 */
const reference = (name: string) => Type.Unsafe<Record<string, unknown>>(REFERENCE_SCHEMAS[name] ?? {});

/** `IntegrationEditableFields` (unknown extra properties are tolerated and ignored, decision 3). */
export const IntegrationBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  access_token_ids: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })),
  app_ids: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })),
  environment_config: Type.Optional(Type.Array(reference('EnvironmentFieldConfig'), { maxItems: 500 })),
  settings: Type.Optional(reference('IntegrationSettings')),
  integration_type: Type.Optional(Type.Union([Type.Literal('erp'), Type.Literal('connector')])),
  connector_config: Type.Optional(reference('ConnectorConfig')),
  protected: Type.Optional(Type.Boolean()),
  _manifest: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })),
});

export const UseCaseBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  slug: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$', minLength: 1, maxLength: 255 })),
  type: Type.String({ minLength: 1, maxLength: 64 }),
  enabled: Type.Boolean(),
  configuration: Type.Optional(Type.Object({})),
  change_description: Type.Optional(Type.String({ maxLength: 2000 })),
});

export const V2IntegrationBody = Type.Intersect([
  IntegrationBody,
  Type.Object({
    use_cases: Type.Optional(
      Type.Array(
        Type.Intersect([UseCaseBody, Type.Object({ id: Type.Optional(Type.String({ format: 'uuid' })) })]),
      ),
    ),
  }),
]);

export const UseCaseUpdateBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  slug: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$', minLength: 1, maxLength: 255 })),
  type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  enabled: Type.Optional(Type.Boolean()),
  configuration: Type.Optional(Type.Object({})),
  change_description: Type.Optional(Type.String({ maxLength: 2000 })),
});

export const AppMappingBody = Type.Object({
  app_id: Type.String({ format: 'uuid' }),
  component_id: Type.String({ format: 'uuid' }),
  overwrite: Type.Optional(Type.Boolean({ default: false })),
});

export const HistoryQuery = Type.Object({
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
});

/** Opaque keyset cursors: base64url JSON. A cursor that does not decode is a 400, never a silent restart. */
export function encodeCursor(value: Record<string, string>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<K extends string>(
  cursor: string,
  keys: readonly K[],
): Record<K, string> | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (keys.every((k) => typeof value[k] === 'string')) return value as Record<K, string>;
  } catch {}
  return undefined;
}
