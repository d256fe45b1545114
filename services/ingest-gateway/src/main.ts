import { exitOnSignalsAndCrashes, installShutdown } from '@hub/http';
import { KafkaClient, kafkaConnectionFrom, prepareOwnTopics } from '@hub/kafka';
import { expireDocuments, MongoStore, mongoConnectionFrom } from '@hub/mongo';
import { createLogger, initTracing } from '@hub/observability';
import { buildApp, COLLECTIONS_EXPIRED, TOPICS_OWNED } from './app.js';
import { loadGatewayConfig } from './config.js';

const config = loadGatewayConfig(process.env);
const logger = createLogger({ service: 'ingest-gateway', level: config.LOG_LEVEL });
const tracing = initTracing({
  serviceName: 'ingest-gateway',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});

try {
  const kafka = new KafkaClient({
    clientId: 'ingest-gateway',
    ...kafkaConnectionFrom(config),
    compression: config.KAFKA_COMPRESSION,
    logger,
  });
  await prepareOwnTopics(kafka, config, TOPICS_OWNED(config.KAFKA_TOPIC_PARTITIONS));
  const producer = await kafka.producer();
  const mongo = await MongoStore.connect({
    ...mongoConnectionFrom(config),
    logger,
    appName: 'ingest-gateway',
  });
  mongo.watchdog(() => process.exit(1)); // a wedged client: the orchestrator restarts us
  const gateway = await buildApp(config, { logger, kafka, mongo, producer });
  await gateway.start();
  await gateway.app.listen({ host: config.HOST, port: config.PORT });

  // Deduplication ids, stored events and request counters past their date (a no-op on MongoDB: TTL).
  const stopExpiry = expireDocuments(mongo, COLLECTIONS_EXPIRED, { intervalMs: 10 * 60_000, logger });

  const shutdown = installShutdown(
    logger,
    [
      { name: 'stop the sweeper', run: async () => stopExpiry() },
      { name: 'stop http intake and drain requests', run: () => gateway.app.close() },
      { name: 'stop config mirror', run: () => gateway.stopMirror() },
      { name: 'close kafka producer', run: () => producer.close() },
      { name: 'close mongo', run: () => mongo.close() },
      { name: 'flush traces', run: () => tracing.shutdown() },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignalsAndCrashes(logger, shutdown);
} catch (err) {
  logger.fatal({ err }, 'ingest-gateway failed to start');
  process.exit(1);
}
