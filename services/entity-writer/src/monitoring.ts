import {
  canonicalJson,
  type EntityUpdatesTopicMessage,
  type MonitoringRecord,
  monitoringRecord,
} from '@hub/contracts';
import type { PruneOutcome } from './prune.js';
import type { ReadingOutcome } from './readings.js';
import type { WriteNotes, WriteOutcome } from './writer.js';

export type ApplyOutcome =
  | WriteOutcome
  | ReadingOutcome
  | PruneOutcome
  | { deleted: number; already_applied?: true };

/** What a write did to the entity, in the words of monitoring (`detail.action`). */
export function entityAction(outcome: WriteOutcome): 'created' | 'updated' | 'deleted' | 'unchanged' {
  switch (outcome) {
    case 'created':
    case 'updated':
    case 'deleted':
      return outcome;
    case 'purged':
      return 'deleted';
    default:
      return 'unchanged'; // already_applied, nothing_to_delete
  }
}

/**
 * The monitoring records of one applied message on `erp.entity.updates`: the final record of the
 * update (`entity_written`, `meter_reading_written` or `prune_applied`) and one
 * `relation_target_created` per relation target created on the way.
 */
export function writerRecords(
  update: EntityUpdatesTopicMessage,
  outcome: ApplyOutcome,
  notes: WriteNotes,
  now = new Date().toISOString(),
): MonitoringRecord[] {
  const base = {
    org_id: update.org_id,
    integration_id: update.integration_id,
    event_id: update.event_id,
    correlation_id: update.correlation_id,
    use_case_id: update.use_case_id,
    event_type: update.event_type,
    object_type: update.event_name,
    received_at: update.received_at,
    created_at: now,
    subject: update.update_id,
    level: 'success' as const,
  };
  const records: MonitoringRecord[] = notes.created.map((t) =>
    monitoringRecord({
      ...base,
      stage: 'relation_target_created',
      subject: `${update.update_id}|${t.schema}|${canonicalJson(t.uniqueIds)}`,
      message: `created ${t.schema} ${t.entityId} as a relation target`,
      final: false,
      sync_type: 'entity',
      detail: {
        entity_schema: t.schema,
        entity_id: t.entityId,
        unique_ids: t.uniqueIds,
        update_id: update.update_id,
      },
    }),
  );
  switch (update.kind) {
    case 'prune_scope':
    case 'meter_reading_prune_scope': {
      const o = outcome as PruneOutcome;
      const readings = update.kind === 'meter_reading_prune_scope';
      records.push(
        monitoringRecord({
          ...base,
          stage: 'prune_applied',
          message: o.already_applied
            ? 'prune scope already applied'
            : `removed ${o.deleted + (o.purged ?? 0)} ${readings ? 'readings' : 'entities'} out of scope`,
          final: true,
          sync_type: readings ? 'meter_reading' : 'entity',
          detail: {
            update_id: update.update_id,
            kind: update.kind,
            ...(update.kind === 'prune_scope' ? { entity_schema: update.entity_schema } : {}),
            ...o,
          },
        }),
      );
      break;
    }
    case 'meter_reading': {
      const o = outcome as ReadingOutcome;
      const action = o === 'nothing_to_delete' ? 'unchanged' : o;
      records.push(
        monitoringRecord({
          ...base,
          stage: 'meter_reading_written',
          message: `meter reading ${action}`,
          final: true,
          sync_type: 'meter_reading',
          detail: {
            update_id: update.update_id,
            action,
            outcome: o,
            mode: update.mode,
            meter_unique_ids: update.meter.$entity_unique_ids,
          },
        }),
      );
      break;
    }
    default: {
      const o = outcome as WriteOutcome;
      const action = entityAction(o);
      records.push(
        monitoringRecord({
          ...base,
          stage: 'entity_written',
          message: `${update.entity_schema} ${action}`,
          final: true,
          sync_type: 'entity',
          detail: {
            update_id: update.update_id,
            entity_schema: update.entity_schema,
            ...(notes.entityId ? { entity_id: notes.entityId } : {}),
            unique_ids: update.unique_ids,
            mode: update.mode,
            action,
            outcome: o,
          },
        }),
      );
    }
  }
  return records;
}
