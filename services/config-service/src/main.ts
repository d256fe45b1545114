import { exitOnSignalsAndCrashes, installShutdown } from '@hub/http';
import { KafkaClient, kafkaConnectionFrom, prepareOwnTopics } from '@hub/kafka';
import { MongoStore, mongoConnectionFrom } from '@hub/mongo';
import { createLogger, initTracing } from '@hub/observability';
import { buildApp, TOPICS_OWNED } from './app.js';
import { loadConfigServiceConfig } from './config.js';

const config = loadConfigServiceConfig(process.env);
const logger = createLogger({ service: 'config-service', level: config.LOG_LEVEL });
const tracing = initTracing({
  serviceName: 'config-service',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});

try {
  const kafka = new KafkaClient({
    clientId: 'config-service',
    ...kafkaConnectionFrom(config),
    compression: config.KAFKA_COMPRESSION,
    logger,
  });
  await prepareOwnTopics(kafka, config, TOPICS_OWNED(config.KAFKA_TOPIC_PARTITIONS));
  const producer = await kafka.producer();
  const mongo = await MongoStore.connect({
    ...mongoConnectionFrom(config),
    logger,
    appName: 'config-service',
  });
  mongo.watchdog(() => process.exit(1)); // a wedged client: the orchestrator restarts us
  const service = await buildApp(config, {
    logger,
    mongo,
    producer,
    kafka,
    onFatal: () => process.exit(1), // the orchestrator restarts us
  });
  const { app } = service;
  await app.listen({ host: config.HOST, port: config.PORT });
  await service.start();

  const shutdown = installShutdown(
    logger,
    [
      { name: 'stop http intake and drain requests', run: () => app.close() },
      { name: 'stop the monitoring sink, commit offsets', run: () => service.stopSink() },
      { name: 'close kafka producer', run: () => producer.close() },
      { name: 'close mongo', run: () => mongo.close() },
      { name: 'flush traces', run: () => tracing.shutdown() },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignalsAndCrashes(logger, shutdown);
} catch (err) {
  logger.fatal({ err }, 'config-service failed to start');
  process.exit(1);
}
