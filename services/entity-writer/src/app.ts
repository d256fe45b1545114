import {
  deadLetterRecord,
  decodeMessage,
  EntityUpdateMessage,
  Headers,
  MessageSchemaError,
  Topics,
} from '@hub/contracts';
import {
  combine,
  createHttpServer,
  createMetrics,
  registerAuth,
  registerMetrics,
  registerProbes,
  registerRateLimit,
} from '@hub/http';
import { ConsumerRunner, type KafkaClient, type MessageProducer, PermanentError } from '@hub/kafka';
import { type MongoStore, WindowCounter } from '@hub/mongo';
import type { Logger } from '@hub/observability';
import type { WriterConfig } from './config.js';

import { EntitiesRepository } from './repository.js';
import { registerEntityRoutes } from './routes.js';
import { EntityWriter } from './writer.js';

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
  await repository.ensureIndexes();
  const writer = new EntityWriter(repository, deps.producer, deps.logger);

  const consumer = new ConsumerRunner(deps.kafka, {
    groupId: config.KAFKA_GROUP_ID,
    topics: [Topics.entityUpdates],
    handler: async (message) => {
      let update: EntityUpdateMessage;
      try {
        update = decodeMessage(Topics.entityUpdates, EntityUpdateMessage, message.value);
      } catch (err) {
        if (err instanceof MessageSchemaError) throw new PermanentError(err.code, 'validation', err.message);
        throw err;
      }
      const traceparent = message.headers[Headers.traceparent];
      const traceHeaders: Record<string, string> = traceparent ? { [Headers.traceparent]: traceparent } : {};
      const outcome = await writer.apply(update, traceHeaders);
      deps.logger.info(
        {
          outcome,
          updateId: update.update_id,
          eventId: update.event_id,
          correlationId: update.correlation_id,
          schema: update.entity_schema,
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
      await deps.producer.send([deadLetterRecord('entity-writer', message, error, attempts)]);
    },
    onFatal: deps.onFatal,
    partitionsConsumedConcurrently: config.WRITER_CONCURRENCY,
    logger: deps.logger,
  });

  const app = createHttpServer({ logger: deps.logger });
  await registerAuth(app, { secret: config.AUTH_JWT_SECRET, issuer: config.AUTH_JWT_ISSUER });
  const requestCounter = new WindowCounter(deps.mongo);
  registerRateLimit(app, {
    limit: config.RATE_LIMIT_PER_MINUTE,
    windowMs: 60_000,
    hit: (key, windowMs, limit) => requestCounter.hit(key, windowMs, limit),
  });
  registerMetrics(app, createMetrics('entity-writer'));
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
  registerEntityRoutes(app, repository);

  return {
    app,
    start: () => consumer.start(),
    stopConsuming: () => consumer.stop(),
  };
}

export const TOPICS_OWNED = (partitions: number) => [
  { topic: Topics.entityUpdates, partitions },
  { topic: Topics.entitiesProcessed, partitions },
  { topic: Topics.deadLetters, partitions },
];
