import { hash } from 'node:crypto';
import Type, { type Static } from 'typebox';
import type { ErrorCategory } from './messages.js';
import { Headers, Topics } from './topics.js';

/**
 * Monitoring records (topic `erp.monitoring.events`, key: event id): one per stage of an event's life,
 * written by the service that did the work in the same producer batch as its other outputs, stored by
 * the config-service's sink and served by the monitoring operations (docs/monitoring.md).
 */

/** Where in the pipeline a record was written (docs/monitoring.md lists each with its codes). */
export const MonitoringStage = Type.Union([
  Type.Literal('accepted'),
  Type.Literal('skipped'),
  Type.Literal('ignored'),
  Type.Literal('rejected'),
  Type.Literal('replayed'),
  Type.Literal('mapped'),
  Type.Literal('mapping_failed'),
  Type.Literal('quarantined'),
  Type.Literal('entity_written'),
  Type.Literal('relation_target_created'),
  Type.Literal('prune_applied'),
  Type.Literal('meter_reading_written'),
  Type.Literal('dead_lettered'),
  Type.Literal('external'),
]);
export type MonitoringStage = Static<typeof MonitoringStage>;

/** The reference's `MonitoringEventV2.level`. */
export const MonitoringLevel = Type.Union([
  Type.Literal('success'),
  Type.Literal('error'),
  Type.Literal('skipped'),
  Type.Literal('warning'),
]);
export type MonitoringLevel = Static<typeof MonitoringLevel>;

/** The reference's `InboundMonitoringEvent.error_category`. */
export const MonitoringCategory = Type.Union([
  Type.Literal('validation'),
  Type.Literal('configuration'),
  Type.Literal('downstream_api'),
  Type.Literal('timeout'),
  Type.Literal('system'),
]);
export type MonitoringCategory = Static<typeof MonitoringCategory>;

/** Topic `erp.monitoring.events` (schema_version 1). */
export const MonitoringRecord = Type.Object({
  schema_version: Type.Literal(1),
  /** Name-based UUID of (org, event id, stage, subject): a redelivered message writes the same id. */
  id: Type.String(),
  org_id: Type.String(),
  integration_id: Type.String(),
  /** The inbound event (`evt_…`); empty for external spans. */
  event_id: Type.String(),
  correlation_id: Type.String(),
  /**
   * W3C trace id of the work that wrote the record (from the traceparent the record was produced with),
   * so a record leads to its spans in a tracing backend. Set by the monitoring sink when absent.
   */
  trace_id: Type.Optional(Type.String()),
  /** Empty for system-level ("General") records. */
  use_case_id: Type.String(),
  use_case_type: Type.Union([
    Type.Literal('inbound'),
    Type.Literal('outbound'),
    Type.Literal('file_proxy'),
    Type.Literal('managed_call'),
    Type.Literal('secure_proxy'),
    Type.Literal(''),
  ]),
  level: MonitoringLevel,
  /** Taxonomy code; empty for plain success. */
  code: Type.String(),
  message: Type.String(),
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  created_at: Type.String(),
  stage: MonitoringStage,
  /** The final word on the event or on one of its updates: v1 `inbound-events` lists these. */
  final: Type.Boolean(),
  event_type: Type.Optional(Type.String()),
  object_type: Type.Optional(Type.String()),
  sync_type: Type.Optional(Type.Union([Type.Literal('entity'), Type.Literal('meter_reading')])),
  category: Type.Optional(MonitoringCategory),
  /** When the gateway received the event. */
  received_at: Type.Optional(Type.String()),
  /** received_at → created_at. */
  duration_ms: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type MonitoringRecord = Static<typeof MonitoringRecord>;

/** Our error categories (dead letters, `PermanentError`) in the reference's monitoring taxonomy. */
export function monitoringCategory(category: ErrorCategory): MonitoringCategory {
  switch (category) {
    case 'configuration':
      return 'configuration';
    case 'internal':
      return 'system';
    default:
      return 'validation'; // validation, mapping, lookup: the event's data cannot be applied
  }
}

const NAMESPACE = Buffer.from('6f1d3c1e4b7a4e0f9a51c6b0d2e8f7a3', 'hex');

/** The namespace followed by a name's UTF-8 bytes, hashed in one call (grown for a longer name). */
let named = Buffer.allocUnsafe(1024);
NAMESPACE.copy(named);
/** The RFC 4122 variant (`10xx`) of the 17th hex digit, by that digit's value. */
const VARIANT = '89ab89ab89ab89ab';

/**
 * RFC 4122 version-5 (SHA-1, name-based) UUID: the same name always gives the same id. (One `hash` of one
 * buffer and the digits set in the hex text: half the CPU of a `createHash` with two updates and a copied
 * digest, issue 22; the ids are the same, as they must be: the monitoring sink keeps a record once by it.)
 */
export function nameUuid(name: string): string {
  // A UTF-16 unit takes at most 3 bytes of UTF-8 (a surrogate pair: 4 for two units).
  if (NAMESPACE.length + name.length * 3 > named.length) {
    named = Buffer.allocUnsafe(NAMESPACE.length + name.length * 3);
    NAMESPACE.copy(named);
  }
  const length = NAMESPACE.length + named.write(name, NAMESPACE.length, 'utf8');
  const h = hash('sha1', named.subarray(0, length), 'hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${VARIANT[Number.parseInt(h[16]!, 16)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The record id: deterministic in (org, event id, stage, subject). */
export const monitoringRecordId = (orgId: string, eventId: string, stage: MonitoringStage, subject = '') =>
  nameUuid(`${orgId}\u0000${eventId}\u0000${stage}\u0000${subject}`);

export interface RecordInput {
  org_id: string;
  integration_id: string;
  event_id: string;
  correlation_id: string;
  use_case_id?: string;
  /** Defaults to `inbound` when a use case is named, else '' ("General"). */
  use_case_type?: MonitoringRecord['use_case_type'];
  stage: MonitoringStage;
  /** Makes the id unique within (event, stage): an update id, an index, an entity key. */
  subject?: string;
  level: MonitoringLevel;
  code?: string;
  message?: string;
  detail?: Record<string, unknown> | null;
  final: boolean;
  event_type?: string;
  object_type?: string;
  sync_type?: 'entity' | 'meter_reading';
  category?: MonitoringCategory;
  received_at?: string;
  /** Defaults to now. */
  created_at?: string;
}

/** The longest `message` of a monitoring record, and of each text in its `detail` (issue 19). */
export const MAX_RECORD_TEXT_CHARS = 1_000;
/** The most items of each list in a record's `detail` (e.g. `warning_list`). */
export const MAX_RECORD_LIST_ITEMS = 100;

/** `text` cut at `max` characters with a marker saying how much was cut; shorter text as it is. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [truncated: ${text.length - max} more characters]`;
}

/**
 * A record's detail with every text cut at MAX_RECORD_TEXT_CHARS and every list at MAX_RECORD_LIST_ITEMS
 * (a last item says how many were left out): a record never repeats a whole value of the event.
 */
function boundedDetail(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return truncateText(value, MAX_RECORD_TEXT_CHARS);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_RECORD_LIST_ITEMS).map((v) => boundedDetail(v, depth + 1));
    if (value.length > MAX_RECORD_LIST_ITEMS)
      kept.push(`… [truncated: ${value.length - MAX_RECORD_LIST_ITEMS} more items]`);
    return kept;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, boundedDetail(v, depth + 1)]));
}

/**
 * Builds a record: its id, `use_case_type`, and the duration since the gateway received the event. Its
 * message and the texts and lists of its detail are bounded (`truncateText`, MAX_RECORD_TEXT_CHARS).
 */
export function monitoringRecord(input: RecordInput): MonitoringRecord {
  const created = input.created_at ?? new Date().toISOString();
  const useCaseId = input.use_case_id ?? '';
  const duration =
    input.received_at !== undefined ? Date.parse(created) - Date.parse(input.received_at) : Number.NaN;
  return {
    schema_version: 1,
    id: monitoringRecordId(input.org_id, input.event_id, input.stage, input.subject),
    org_id: input.org_id,
    integration_id: input.integration_id,
    event_id: input.event_id,
    correlation_id: input.correlation_id,
    use_case_id: useCaseId,
    use_case_type: input.use_case_type ?? (useCaseId ? 'inbound' : ''),
    level: input.level,
    code: input.code ?? '',
    message: truncateText(input.message ?? '', MAX_RECORD_TEXT_CHARS),
    detail: input.detail ? (boundedDetail(input.detail) as typeof input.detail) : null,
    created_at: created,
    stage: input.stage,
    final: input.final,
    ...(input.event_type ? { event_type: input.event_type } : {}),
    ...(input.object_type ? { object_type: input.object_type } : {}),
    ...(input.sync_type ? { sync_type: input.sync_type } : {}),
    ...(input.category ? { category: input.category } : {}),
    ...(input.received_at ? { received_at: input.received_at } : {}),
    ...(Number.isFinite(duration) ? { duration_ms: Math.max(0, Math.round(duration)) } : {}),
  };
}

/** The outgoing message of a record (key: event id, else correlation id), with the tracing headers. */
export function monitoringMessage(
  record: MonitoringRecord,
  headers: Record<string, string> = {},
): { topic: string; key: string; value: MonitoringRecord; headers: Record<string, string> } {
  return {
    topic: Topics.monitoringEvents,
    key: record.event_id || record.correlation_id,
    value: record,
    headers: {
      ...headers,
      [Headers.correlationId]: record.correlation_id,
      ...(record.event_id ? { [Headers.eventId]: record.event_id } : {}),
      [Headers.orgId]: record.org_id,
      [Headers.schemaVersion]: '1',
    },
  };
}
