import {
  deadLetterMonitoringRecord,
  deadLetterRecord,
  decodeEntityUpdatesMessage,
  type EntityUpdatesTopicMessage,
  Headers,
  MessageSchemaError,
  monitoringMessage,
  Topics,
} from '@hub/contracts';
import {
  Counter,
  combine,
  createHttpServer,
  createMetrics,
  registerAuth,
  registerMetrics,
  registerProbes,
  registerRateLimit,
} from '@hub/http';
import {
  ConsumerRunner,
  type KafkaClient,
  type MessageProducer,
  PermanentError,
  scanTopic,
} from '@hub/kafka';
import { isUnavailableError, type MongoStore, WindowCounter } from '@hub/mongo';
import type { Logger } from '@hub/observability';
import type { WriterConfig } from './config.js';
import { writerRecords } from './monitoring.js';
import { OutboxPublisher, publishedCheck } from './outbox.js';
import { PruneApplier } from './prune.js';
import { ReadingsApplier } from './readings.js';
import { ReadingsRepository } from './readings-repository.js';
import { EntityRefs } from './refs.js';
import { EntitiesRepository, SOFT_DELETE_RETENTION_MS } from './repository.js';
import { registerEntityRoutes } from './routes.js';
import { PruneRuns } from './runs.js';
import { EntityWriter, type WriteNotes } from './writer.js';

/** How often soft-deleted entities past their retention are purged (by any instance; idempotent). */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

export interface WriterDeps {
  logger: Logger;
  kafka: KafkaClient;
  mongo: MongoStore;
  producer: MessageProducer;
  onFatal: (err: unknown) => void;
}

/** The entity-writer: applies entity updates, publishes processed entities, serves entity reads. */
export async function buildWriter(config: WriterConfig, deps: WriterDeps) {
  const repository = new EntitiesRepository(deps.mongo);
  const readings = new ReadingsRepository(deps.mongo);
  await repository.ensureIndexes();
  await readings.ensureIndexes();
  const published = publishedCheck((sinceMs, visit) =>
    scanTopic(deps.kafka, { topic: Topics.entitiesProcessed, sinceMs, visit: (m) => visit(m.value) }),
  );
  const outbox = new OutboxPublisher(repository, deps.producer, published, deps.logger);
  const refs = new EntityRefs(repository, outbox);
  const runs = new PruneRuns(deps.mongo);
  const writer = new EntityWriter(repository, refs, outbox);
  const pruner = new PruneApplier(repository, refs, outbox, runs);
  const readingsApplier = new ReadingsApplier(readings, refs, runs);
  const applyOne = async (
    update: EntityUpdatesTopicMessage,
    trace: Record<string, string>,
    attempt: number,
    notes: WriteNotes,
  ) => {
    switch (update.kind) {
      case 'prune_scope':
        return pruner.apply(update, trace);
      case 'meter_reading':
        return readingsApplier.apply(update, attempt);
      case 'meter_reading_prune_scope':
        return readingsApplier.prune(update, attempt);
      default:
        return writer.apply(update, trace, notes);
    }
  };

  const metrics = createMetrics('entity-writer');
  const writes = new Counter({
    name: 'hub_entity_writes_total',
    help: 'Entity updates applied, by kind and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers: [metrics],
  });
  const deadLetters = new Counter({
    name: 'hub_dead_letters_total',
    help: 'Messages sent to the dead-letter topic, by error code',
    labelNames: ['code'] as const,
    registers: [metrics],
  });

  const consumer = new ConsumerRunner(deps.kafka, {
    groupId: config.KAFKA_GROUP_ID,
    topics: [Topics.entityUpdates],
    handler: async (message, attempt) => {
      let update: EntityUpdatesTopicMessage;
      try {
        update = decodeEntityUpdatesMessage(message.value);
      } catch (err) {
        if (err instanceof MessageSchemaError) throw new PermanentError(err.code, 'validation', err.message);
        throw err;
      }
      const traceparent = message.headers[Headers.traceparent];
      const traceHeaders: Record<string, string> = traceparent ? { [Headers.traceparent]: traceparent } : {};
      const notes: WriteNotes = { created: [] };
      const outcome = await applyOne(update, traceHeaders, attempt, notes);
      // Before the offset is committed: a failure here retries the message, which then finds the update
      // applied and writes the same record ids (outcome `unchanged`).
      await deps.producer.send(
        writerRecords(update, outcome, notes).map((r) => monitoringMessage(r, message.headers)),
      );
      writes.inc({ kind: update.kind ?? 'entity', outcome: String(outcome) });
      deps.logger.info(
        {
          outcome,
          kind: update.kind ?? 'entity',
          updateId: update.update_id,
          eventId: update.event_id,
          correlationId: update.correlation_id,
          schema: 'entity_schema' in update ? update.entity_schema : undefined,
          partition: message.partition,
          offset: message.offset,
        },
        'entity update applied',
      );
    },
    onPermanentFailure: async (message, error, attempts) => {
      deps.logger.error(
        { code: error.code, err: error, offset: message.offset },
        'entity update dead-lettered',
      );
      const record = deadLetterMonitoringRecord('entity-writer', message, error, attempts);
      await deps.producer.send([
        deadLetterRecord('entity-writer', message, error, attempts),
        ...(record ? [monitoringMessage(record, message.headers)] : []),
      ]);
      deadLetters.inc({ code: error.code });
    },
    onFatal: deps.onFatal,
    metrics,
    partitionsConsumedConcurrently: config.WRITER_CONCURRENCY,
    logger: deps.logger,
  });

  const app = createHttpServer({ logger: deps.logger, isUnavailable: isUnavailableError });
  await registerAuth(app, { secret: config.AUTH_JWT_SECRET, issuer: config.AUTH_JWT_ISSUER });
  const requestCounter = new WindowCounter(deps.mongo);
  registerRateLimit(app, {
    limit: config.RATE_LIMIT_PER_MINUTE,
    windowMs: 60_000,
    hit: (key, windowMs, limit) => requestCounter.hit(key, windowMs, limit),
  });
  registerMetrics(app, metrics);
  registerProbes(app, {
    live: () => combine({ consumeLoop: consumer.health().alive }),
    ready: async () =>
      combine({
        consumer: consumer.health().ready,
        mongo: await deps.mongo.ping().then(
          () => true,
          () => false,
        ),
      }),
  });
  registerEntityRoutes(app, repository, readings);

  let sweeper: NodeJS.Timeout | undefined;
  const sweep = async () => {
    try {
      const cutoff = new Date(Date.now() - SOFT_DELETE_RETENTION_MS).toISOString();
      const purged = await repository.sweepDeleted(cutoff);
      if (purged > 0) deps.logger.info({ purged, cutoff }, 'soft-deleted entities past retention purged');
    } catch (err) {
      deps.logger.warn({ err }, 'sweeping soft-deleted entities failed; next sweep retries');
    }
  };

  return {
    app,
    start: async () => {
      await consumer.start();
      sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
      sweeper.unref();
      void sweep();
    },
    stopConsuming: async () => {
      if (sweeper) clearInterval(sweeper);
      await consumer.stop();
    },
  };
}

export const TOPICS_OWNED = (partitions: number) => [
  { topic: Topics.entityUpdates, partitions },
  { topic: Topics.entitiesProcessed, partitions },
  { topic: Topics.deadLetters, partitions },
  { topic: Topics.monitoringEvents, partitions },
];
