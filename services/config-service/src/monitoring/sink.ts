import {
  deadLetterRecord,
  decodeMessage,
  Headers,
  MessageSchemaError,
  MonitoringRecord,
  Topics,
} from '@hub/contracts';
import type { Registry } from '@hub/http';
import {
  ConsumerRunner,
  type IncomingMessage,
  isBrokerUnavailable,
  type KafkaClient,
  type MessageProducer,
  MONITORING_FETCH,
  PermanentError,
} from '@hub/kafka';
import { isUnavailableError } from '@hub/mongo';
import { type Logger, parseTraceparent } from '@hub/observability';
import type { OffsetRecord } from './buckets.js';
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

/** The record of a message, with the trace id of the work that wrote it (from its traceparent). */
function decode(message: IncomingMessage): MonitoringRecord {
  let record: MonitoringRecord;
  try {
    record = decodeMessage(Topics.monitoringEvents, MonitoringRecord, message.value);
  } catch (err) {
    if (err instanceof MessageSchemaError) throw new PermanentError(err.code, 'validation', err.message);
    throw err;
  }
  const traceId = parseTraceparent(message.headers[Headers.traceparent])?.traceId;
  return traceId && !record.trace_id ? { ...record, trace_id: traceId } : record;
}

/**
 * Stores every record of `erp.monitoring.events` (its own consumer group): a chunk of a partition's fetched
 * batch in one bucket document (docs/adr/0019), each record once (a record whose id is stored already is
 * skipped: `MonitoringRepository.store`). A record that does not match its schema is dead-lettered; a
 * database failure is retried in place (the partition waits).
 */
export function monitoringSink(settings: SinkSettings): ConsumerRunner {
  const { repository, logger } = settings;
  return new ConsumerRunner(settings.kafka, {
    groupId: settings.groupId,
    topics: [Topics.monitoringEvents],
    // No event waits for its records to be stored: fetches wait longer for fuller batches, so the sink
    // makes fewer database commands beside the pipeline's (ADR 19, amended for issue 22).
    fetch: MONITORING_FETCH,
    // A batch of records in one insert; a record that does not decode is dead-lettered in the same go.
    batchHandler: async (messages, { heartbeat }) => {
      const records: OffsetRecord[] = [];
      const bad: Array<{ message: IncomingMessage; error: PermanentError }> = [];
      for (const message of messages) {
        try {
          records.push({ offset: Number(message.offset), record: decode(message) });
        } catch (err) {
          if (!(err instanceof PermanentError)) throw err;
          bad.push({ message, error: err });
        }
      }
      // A partition's first chunk after a join reads the buckets of 20,000 offsets before it, which can
      // take longer than the session timeout on a database with history: heartbeats between its reads keep
      // the member in its group (dropped, it seeded again after every rejoin without end; ADR 19).
      const { stored, duplicates } = await repository.store(
        {
          partition: messages[0]!.partition,
          first: Number(messages[0]!.offset),
          next: Number(messages[messages.length - 1]!.offset) + 1,
          records,
        },
        Date.now(),
        heartbeat,
      );
      if (bad.length > 0) {
        for (const { error, message } of bad) {
          logger.error(
            { code: error.code, err: error, offset: message.offset },
            'monitoring record dead-lettered',
          );
        }
        await settings.producer.send(
          bad.map(({ message, error }) => deadLetterRecord('config-service', message, error, 1)),
        );
      }
      logger.debug({ stored, duplicates }, 'monitoring records stored');
    },
    handler: async (message) => {
      const record = decode(message);
      const offset = Number(message.offset);
      const { stored } = await repository.store({
        partition: message.partition,
        first: offset,
        next: offset + 1,
        records: [{ offset, record }],
      });
      logger.debug(
        {
          recordId: record.id,
          eventId: record.event_id,
          stage: record.stage,
          outcome: stored ? 'stored' : 'duplicate',
        },
        'monitoring record stored',
      );
    },
    onPermanentFailure: async (message, error, attempts, form) => {
      logger.error(
        { code: error.code, err: error, offset: message.offset },
        'monitoring record dead-lettered',
      );
      await settings.producer.send([deadLetterRecord('config-service', message, error, attempts, form)]);
    },
    onFatal: settings.onFatal,
    partitionsConsumedConcurrently: 3,
    // After a rebalance another instance may have stored any partition: each one's next batch looks up
    // what is stored (a batch that follows this instance's last one does not, ADR 19).
    onGroupJoin: () => repository.forgetPositions(),
    // A record the database keeps refusing must not stop monitoring for good: after ten attempts it goes
    // to the dead-letter topic and the partition moves on; the database or broker down is waited for.
    isUnavailable: (err) => isUnavailableError(err) || isBrokerUnavailable(err),
    metrics: settings.metrics,
    logger,
  });
}
