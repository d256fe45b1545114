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
  // One pass over the fields, grouped by entity in first-seen order (a Map keeps insertion order): the
  // work grows linearly with the body, so a large simulation body cannot hold the event loop (issue 19).
  const byEntity = new Map<string, Array<Record<string, unknown>>>();
  const group = (entity: string) => {
    const fields = byEntity.get(entity) ?? [];
    if (fields.length === 0) byEntity.set(entity, fields);
    return fields;
  };
  for (const entity of Object.keys(o.unique_ids ?? {})) group(entity);
  for (const f of o.fields ?? []) {
    if (!f.entity) continue;
    const { entity, ...rest } = f;
    group(entity).push(rest);
  }

  return {
    entities: [...byEntity].map(([entity, fields]) => {
      const ids = o.unique_ids?.[entity];
      let uniqueIds: string[] = [];
      if (Array.isArray(ids)) uniqueIds = ids;
      else if (ids) {
        const mapped = new Set(fields.map((f) => f.attribute));
        const added: Array<Record<string, unknown>> = [];
        for (const [remote, local] of Object.entries(ids)) {
          uniqueIds.push(local);
          if (mapped.has(local)) continue;
          mapped.add(local);
          added.unshift({ attribute: local, field: remote });
        }
        fields.unshift(...added);
      }
      return { entity_schema: entity, unique_ids: uniqueIds, fields };
    }),
  };
}
