import type { DeadLetterMessage, ErrorCategory } from './messages.js';
import { type MonitoringRecord, monitoringCategory, monitoringRecord, truncateText } from './monitoring.js';
import { Headers, Topics } from './topics.js';

/**
 * The largest dead letter written whole, in bytes of its JSON value (a quarter of the topics' 32 MiB
 * `max.message.bytes`, so escaping and a few dead letters in one batch still fit). A larger one is written
 * as a pointer: the original's topic, partition and offset, headers and key, without its value.
 */
export const MAX_DEAD_LETTER_BYTES = 8 * 1024 * 1024;

/** The longest error message a dead letter (or its monitoring record) carries; the rest is cut with a marker. */
export const MAX_ERROR_MESSAGE_CHARS = 2_000;

export interface DeadLetterOptions {
  /**
   * Write the pointer form, with this reason: the whole dead letter could not be written (the broker
   * refused it as too large). Without it the pointer form is chosen only past `maxBytes`.
   */
  omitValue?: string;
  /** Default MAX_DEAD_LETTER_BYTES. */
  maxBytes?: number;
}

/**
 * Why the original value must be left out of the dead letter, if it must: its JSON text (the value escaped
 * again) would pass `maxBytes`. Serialises the value only when it could (escaping at most sextuples it).
 */
function omitReason(value: string | null, options: DeadLetterOptions): string | undefined {
  if (options.omitValue) return options.omitValue;
  const max = options.maxBytes ?? MAX_DEAD_LETTER_BYTES;
  if (value === null || value.length * 6 < max) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(value));
  return bytes > max
    ? `the original value (${bytes} bytes as JSON text) would make the dead letter larger than its limit of ${max} bytes`
    : undefined;
}

/** Where a failed message came from (structurally, the consumer's incoming message). */
export interface FailedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * A dead-letter record with full provenance: the original message, where it was, the error (its message cut
 * at MAX_ERROR_MESSAGE_CHARS), the attempts. Too large to be written whole (issue 19), it is the pointer
 * form: `original.value` null and `original.value_omitted` saying how large it was and why it is not there;
 * the original stays readable at its topic, partition and offset for as long as that topic keeps it.
 */
export function deadLetterRecord(
  service: string,
  message: FailedMessage,
  error: { code: string; category: ErrorCategory; message: string },
  attempts: number,
  options: DeadLetterOptions = {},
): { topic: string; key: string | null; value: DeadLetterMessage; headers: Record<string, string> } {
  const correlationId = message.headers[Headers.correlationId];
  const eventId = message.headers[Headers.eventId];
  const text = message.value ? message.value.toString('utf8') : null;
  const omitted = omitReason(text, options);
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
        value: omitted ? null : text,
        headers: message.headers,
        ...(omitted ? { value_omitted: { bytes: message.value?.length ?? 0, reason: omitted } } : {}),
      },
      error: {
        code: error.code,
        category: error.category,
        message: truncateText(error.message, MAX_ERROR_MESSAGE_CHARS),
      },
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
  options: DeadLetterOptions = {},
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
      ...(options.omitValue ? { original_value_omitted: options.omitValue } : {}),
    },
    event_type: text(value.event_type),
    object_type: text(value.event_name),
    sync_type: kind?.startsWith('meter_reading') ? 'meter_reading' : 'entity',
    received_at: text(value.received_at) ?? text(value.accepted_at),
  });
}
