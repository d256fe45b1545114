import Type, { type Static } from 'typebox';

/** The use-case types the reference knows. Only `inbound` and `outbound` are accepted; only `inbound` runs. */
export const USE_CASE_TYPES = ['inbound', 'outbound', 'file_proxy', 'managed_call', 'secure_proxy'] as const;
export const SUPPORTED_USE_CASE_TYPES = ['inbound', 'outbound'] as const;
export type UseCaseType = (typeof USE_CASE_TYPES)[number];

/** A use case as stored and as carried on the config topic (API shape, plus our revision). */
export const UseCaseRecord = Type.Object({
  id: Type.String(),
  integrationId: Type.String(),
  name: Type.String(),
  slug: Type.String(),
  type: Type.Union([
    Type.Literal('inbound'),
    Type.Literal('outbound'),
    Type.Literal('file_proxy'),
    Type.Literal('managed_call'),
    Type.Literal('secure_proxy'),
  ]),
  enabled: Type.Boolean(),
  configuration: Type.Optional(Type.Unknown()),
  change_description: Type.Optional(Type.String()),
  changed_by: Type.Optional(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
  /** Monotonic per use case; bumped by every update. */
  revision: Type.Integer({ minimum: 1 }),
});
export type UseCaseRecord = Static<typeof UseCaseRecord>;

/** An integration as stored (API shape plus org scoping and revision). */
export const IntegrationRecord = Type.Object(
  {
    id: Type.String(),
    orgId: Type.String(),
    name: Type.String(),
    description: Type.Optional(Type.String()),
    created_at: Type.String(),
    updated_at: Type.String(),
    /** Monotonic per integration; bumped by every change to it or to one of its use cases. */
    revision: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: true },
);
export type IntegrationRecord = Static<typeof IntegrationRecord>;
