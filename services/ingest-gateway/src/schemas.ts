import Type from 'typebox';

/**
 * Request schemas of the events endpoints, from the reference (unknown properties tolerated, decision 3).
 * Every free string has a length limit of ours (the reference sets none): names 255, types 64.
 */

const Payload = Type.Union([Type.String({ minLength: 2 }), Type.Object({}, { minProperties: 1 })]);
const DeduplicationId = Type.String({ pattern: '^[a-zA-Z0-9_-]+$', minLength: 1, maxLength: 255 });
const Format = Type.Union([Type.Literal('json'), Type.Literal('xml')], { default: 'json' });

export const ErpEventV2 = Type.Object({
  event_type: Type.Union([Type.Literal('CREATE'), Type.Literal('UPDATE'), Type.Literal('DELETE')]),
  object_type: Type.String({ minLength: 1, maxLength: 255 }),
  timestamp: Type.String({ format: 'date-time' }),
  format: Format,
  payload: Payload,
  deduplication_id: Type.Optional(DeduplicationId),
  correlation_id: Type.Optional(Type.String({ maxLength: 255 })),
});

export const ErpUpdatesEventsV2Request = Type.Object({
  integration_id: Type.String({ format: 'uuid' }),
  correlation_id: Type.Optional(Type.String({ maxLength: 255 })),
  meta: Type.Optional(Type.Object({ correlation_id: Type.Optional(Type.String({ maxLength: 255 })) })),
  events: Type.Array(ErpEventV2),
});

export const ErpEventV3 = Type.Object({
  event_name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  use_case_slug: Type.Optional(
    Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$', minLength: 1, maxLength: 255 }),
  ),
  event_type: Type.Optional(Type.String({ maxLength: 64 })),
  timestamp: Type.String({ format: 'date-time' }),
  format: Format,
  payload: Payload,
  deduplication_id: Type.Optional(DeduplicationId),
  correlation_id: Type.Optional(Type.String({ maxLength: 255 })),
  group_id: Type.Optional(Type.String({ maxLength: 128 })),
});

export const ErpUpdatesEventsV3Request = Type.Object({
  integration_id: Type.String({ format: 'uuid' }),
  correlation_id: Type.Optional(Type.String({ maxLength: 255 })),
  meta: Type.Optional(Type.Object({ correlation_id: Type.Optional(Type.String({ maxLength: 255 })) })),
  group_id: Type.Optional(Type.String({ maxLength: 128 })),
  events: Type.Array(ErpEventV3),
});

export const ErpUpdatesEventsV1Request = Type.Object({
  app_id: Type.String({ format: 'uuid' }),
  component_id: Type.String({ format: 'uuid' }),
  meta: Type.Object({ correlation_id: Type.Optional(Type.String({ maxLength: 255 })) }),
  events: Type.Array(ErpEventV2),
});
