/**
 * The v1.0 mapping format (`IntegrationObjectV1`) as an inbound configuration (v2): one entity per
 * target entity named in `unique_ids` or `fields`, in first-seen order.
 * - `unique_ids.<entity>` as a list names local attributes (which `fields` must map);
 * - as an object it maps remote payload keys to local attributes: `{ "partner_id": "_id" }` adds the
 *   field `{ attribute: "_id", field: "partner_id" }` and makes `_id` the unique id.
 */
export function convertV1Object(object: unknown): { entities: Array<Record<string, unknown>> } {
  const o = (object ?? {}) as {
    unique_ids?: Record<string, string[] | Record<string, string>>;
    fields?: Array<{ entity?: string; attribute?: string; field?: string; jsonataExpression?: string }>;
  };
  const order: string[] = [];
  const seen = (entity: string) => {
    if (!order.includes(entity)) order.push(entity);
  };
  for (const entity of Object.keys(o.unique_ids ?? {})) seen(entity);
  for (const f of o.fields ?? []) if (f.entity) seen(f.entity);

  return {
    entities: order.map((entity) => {
      const ids = o.unique_ids?.[entity];
      const fields: Array<Record<string, unknown>> = (o.fields ?? [])
        .filter((f) => f.entity === entity)
        .map(({ entity: _e, ...rest }) => rest);
      let uniqueIds: string[] = [];
      if (Array.isArray(ids)) uniqueIds = ids;
      else if (ids) {
        for (const [remote, local] of Object.entries(ids)) {
          uniqueIds.push(local);
          if (!fields.some((f) => f.attribute === local)) fields.unshift({ attribute: local, field: remote });
        }
      }
      return { entity_schema: entity, unique_ids: uniqueIds, fields };
    }),
  };
}
