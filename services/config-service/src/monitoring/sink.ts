import {
  deadLetterRecord,
  decodeMessage,
  Headers,
  MessageSchemaError,
  MonitoringRecord,
  Topics,
} from '@hub/contracts';
import type { Registry } from '@hub/http';
import { ConsumerRunner, type KafkaClient, type MessageProducer, PermanentError } from '@hub/kafka';
import { type Logger, parseTraceparent } from '@hub/observability';
import type { MonitoringRepository } from './repository.js';

export interface SinkSettings {
  groupId: string;
  kafka: KafkaClient;
  producer: MessageProducer;
  repository: MonitoringRepository;
  logger: Logger;
  onFatal: (err: unknown) => void;
  /** The service's metrics registry: the sink's lag, latency, retries and outcomes (libs/kafka). */
  metrics?: Registry;
}

/**
 * Stores every record of `erp.monitoring.events` (its own consumer group). The record id is the
 * document id, so a redelivered record is a duplicate key and stored once. A record that does not match
 * its schema is dead-lettered; a database failure is retried in place (the partition waits).
 */
export function monitoringSink(settings: SinkSettings): ConsumerRunner {
  const { repository, logger } = settings;
  return new ConsumerRunner(settings.kafka, {
    groupId: settings.groupId,
    topics: [Topics.monitoringEvents],
    handler: async (message) => {
      let record: MonitoringRecord;
      try {
        record = decodeMessage(Topics.monitoringEvents, MonitoringRecord, message.value);
      } catch (err) {
        if (err instanceof MessageSchemaError) throw new PermanentError(err.code, 'validation', err.message);
        throw err;
      }
      const traceId = parseTraceparent(message.headers[Headers.traceparent])?.traceId;
      const outcome = await repository.insert(
        traceId && !record.trace_id ? { ...record, trace_id: traceId } : record,
      );
      logger.debug(
        { recordId: record.id, eventId: record.event_id, stage: record.stage, outcome },
        'monitoring record stored',
      );
    },
    onPermanentFailure: async (message, error, attempts) => {
      logger.error(
        { code: error.code, err: error, offset: message.offset },
        'monitoring record dead-lettered',
      );
      await settings.producer.send([deadLetterRecord('config-service', message, error, attempts)]);
    },
    onFatal: settings.onFatal,
    partitionsConsumedConcurrently: 3,
    // A record the database keeps refusing must not stop monitoring for good: after ~8 minutes of
    // retries it goes to the dead-letter topic and the partition moves on.
    maxTransientAttempts: 50,
    metrics: settings.metrics,
    logger,
  });
}
