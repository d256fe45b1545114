import type { DeadLetterMessage, ErrorCategory } from './messages.js';
import { type MonitoringRecord, monitoringCategory, monitoringRecord } from './monitoring.js';
import { Headers, Topics } from './topics.js';

/** Where a failed message came from (structurally, the consumer's incoming message). */
export interface FailedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** A dead-letter record with full provenance: the original message, where it was, the error, the attempts. */
export function deadLetterRecord(
  service: string,
  message: FailedMessage,
  error: { code: string; category: ErrorCategory; message: string },
  attempts: number,
): { topic: string; key: string | null; value: DeadLetterMessage; headers: Record<string, string> } {
  const correlationId = message.headers[Headers.correlationId];
  const eventId = message.headers[Headers.eventId];
  return {
    topic: Topics.deadLetters,
    key: message.key,
    headers: message.headers,
    value: {
      schema_version: 1,
      service,
      original: {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        key: message.key,
        value: message.value ? message.value.toString('utf8') : null,
        headers: message.headers,
      },
      error: { code: error.code, category: error.category, message: error.message },
      attempts,
      ...(correlationId ? { correlation_id: correlationId } : {}),
      ...(eventId ? { event_id: eventId } : {}),
      failed_at: new Date().toISOString(),
    },
  };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The monitoring record of a dead-lettered message (stage `dead_lettered`), from whatever the message
 * says about its event (its value if it parses, else its headers). Undefined when the message names no
 * organisation or integration: it cannot be shown to anyone (the dead-letter topic still has it).
 */
export function deadLetterMonitoringRecord(
  service: string,
  message: FailedMessage,
  error: { code: string; category: ErrorCategory; message: string },
  attempts: number,
): MonitoringRecord | undefined {
  let value: Record<string, unknown> = {};
  try {
    const parsed = message.value ? JSON.parse(message.value.toString('utf8')) : undefined;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) value = parsed;
  } catch {}
  const orgId = text(value.org_id) ?? message.headers[Headers.orgId];
  const integrationId = text(value.integration_id);
  if (!orgId || !integrationId) return undefined;
  const eventId = text(value.event_id) ?? message.headers[Headers.eventId] ?? '';
  const updateId = text(value.update_id);
  const kind = text(value.kind);
  const schema = text(value.entity_schema);
  return monitoringRecord({
    org_id: orgId,
    integration_id: integrationId,
    event_id: eventId,
    correlation_id: text(value.correlation_id) ?? message.headers[Headers.correlationId] ?? '',
    use_case_id: text(value.use_case_id),
    stage: 'dead_lettered',
    subject: `${service}|${updateId ?? `${message.topic}/${message.partition}/${message.offset}`}`,
    level: 'error',
    code: error.code,
    message: error.message,
    category: monitoringCategory(error.category),
    final: true,
    detail: {
      service,
      attempts,
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      ...(updateId ? { update_id: updateId } : {}),
      ...(kind ? { kind } : {}),
      ...(schema ? { entity_schema: schema } : {}),
      error_category: error.category,
    },
    event_type: text(value.event_type),
    object_type: text(value.event_name),
    sync_type: kind?.startsWith('meter_reading') ? 'meter_reading' : 'entity',
    received_at: text(value.received_at) ?? text(value.accepted_at),
  });
}
