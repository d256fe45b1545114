import { exitOnSignalsAndCrashes, installShutdown } from '@hub/http';
import { KafkaClient, kafkaConnectionFrom, prepareOwnTopics } from '@hub/kafka';
import { MongoStore, mongoConnectionFrom } from '@hub/mongo';
import { createLogger, initTracing } from '@hub/observability';
import { buildWriter, TOPICS_OWNED } from './app.js';
import { loadWriterConfig } from './config.js';

const config = loadWriterConfig(process.env);
const logger = createLogger({ service: 'entity-writer', level: config.LOG_LEVEL });
const tracing = initTracing({
  serviceName: 'entity-writer',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});

try {
  const kafka = new KafkaClient({
    clientId: 'entity-writer',
    ...kafkaConnectionFrom(config),
    compression: config.KAFKA_COMPRESSION,
    logger,
  });
  await prepareOwnTopics(kafka, config, TOPICS_OWNED(config.KAFKA_TOPIC_PARTITIONS));
  const producer = await kafka.producer();
  const mongo = await MongoStore.connect({
    ...mongoConnectionFrom(config),
    logger,
    appName: 'entity-writer',
  });
  mongo.watchdog(() => process.exit(1)); // a wedged client: the orchestrator restarts us
  const writer = await buildWriter(config, {
    logger,
    kafka,
    mongo,
    producer,
    onFatal: () => process.exit(1), // the orchestrator restarts us
  });
  await writer.app.listen({ host: config.HOST, port: config.PORT });
  await writer.start();

  const shutdown = installShutdown(
    logger,
    [
      { name: 'stop consuming, finish in-flight update, commit offsets', run: () => writer.stopConsuming() },
      { name: 'close http', run: () => writer.app.close() },
      { name: 'close kafka producer', run: () => producer.close() },
      { name: 'close mongo', run: () => mongo.close() },
      { name: 'flush traces', run: () => tracing.shutdown() },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignalsAndCrashes(logger, shutdown);
} catch (err) {
  logger.fatal({ err }, 'entity-writer failed to start');
  process.exit(1);
}
