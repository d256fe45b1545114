import type { DeadLetterMessage, ErrorCategory } from './messages.js';
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
