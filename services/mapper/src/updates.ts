import {
  canonicalJson,
  type EntityUpdatesTopicMessage,
  entityKey,
  type InboundEventMessage,
} from '@hub/contracts';
import type { MappingResult } from '@hub/mapping';

/** The meter entity schema: readings name their meter by its unique ids within this schema. */
export const METER_SCHEMA = 'meter';

/**
 * Everything one mapped event produces for `erp.entity.updates`, with its key. Update ids are
 * deterministic per event so the writer recognises a redelivery. Keys keep per-target ordering:
 * entity updates by the entity, prune scopes by the scope target, readings and reading prune scopes
 * by the meter (so an event's readings of a meter are applied before its prune scope, and after the
 * upsert of a meter keyed by the same unique ids).
 *
 * Prune scopes come first: a `relations` scope is keyed like the scope entity's own update, so the prune
 * sees the relations as they were before this event re-sets them (a meter dropped from the contract's
 * `meters` is still in scope). Keeping is by unique ids, so running before the upserts loses nothing.
 */
export function updateMessages(
  event: InboundEventMessage,
  result: Pick<
    MappingResult,
    'entity_updates' | 'prune_scope_updates' | 'meter_readings_updates' | 'meter_readings_prune_scope_updates'
  >,
): Array<{ key: string; value: EntityUpdatesTopicMessage }> {
  const base = {
    schema_version: 1 as const,
    org_id: event.org_id,
    integration_id: event.integration_id,
    use_case_id: event.use_case_id,
    event_id: event.event_id,
    correlation_id: event.correlation_id,
    ...(event.event_type ? { event_type: event.event_type } : {}),
    event_name: event.event_name,
    received_at: event.accepted_at,
  };
  const org = event.org_id;
  const meterKey = (ids: Record<string, unknown>) => entityKey(org, METER_SCHEMA, ids);
  return [
    ...result.prune_scope_updates.map((p, i) => ({
      key:
        p.scope.scope_mode === 'relations'
          ? entityKey(org, p.scope.schema ?? '', p.scope.unique_ids ?? {})
          : `${org}|${p.entity_slug}|query:${canonicalJson(p.scope.query ?? {})}`,
      value: {
        ...base,
        kind: 'prune_scope' as const,
        update_id: `${event.event_id}:prune:${i}`,
        entity_schema: p.entity_slug,
        scope: p.scope,
        keep_unique_ids: p.keep_unique_ids,
        deletion_mode: p.deletion_mode,
      },
    })),
    ...result.entity_updates.map((u, i) => ({
      key: entityKey(org, u.entity_slug, u.unique_identifiers),
      value: {
        ...base,
        update_id: `${event.event_id}:${i}`,
        entity_schema: u.entity_slug,
        mode: u.mode,
        unique_ids: u.unique_identifiers,
        attributes: u.attributes,
      },
    })),
    ...result.meter_readings_updates.map((r, i) => ({
      key: meterKey(r.meter.$entity_unique_ids),
      value: {
        ...base,
        kind: 'meter_reading' as const,
        update_id: `${event.event_id}:reading:${i}`,
        meter: r.meter,
        ...(r.meter_counter ? { meter_counter: r.meter_counter } : {}),
        attributes: r.attributes,
        mode: r.mode,
        ...(r.reading_matching ? { reading_matching: r.reading_matching } : {}),
      },
    })),
    ...result.meter_readings_prune_scope_updates.map((p, i) => ({
      key: meterKey(p.meter.$entity_unique_ids),
      value: {
        ...base,
        kind: 'meter_reading_prune_scope' as const,
        update_id: `${event.event_id}:reading-prune:${i}`,
        meter: p.meter,
        ...(p.meter_counter ? { meter_counter: p.meter_counter } : {}),
        keep_external_ids: p.keep_external_ids,
        ...(p.source !== undefined ? { source: p.source } : {}),
      },
    })),
  ];
}
