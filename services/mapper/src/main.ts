import { exitOnSignalsAndCrashes, installShutdown } from '@hub/http';
import { KafkaClient, kafkaConnectionFrom, prepareOwnTopics } from '@hub/kafka';
import { createLogger, initTracing } from '@hub/observability';
import { buildMapper, TOPICS_OWNED } from './app.js';
import { loadMapperConfig } from './config.js';

const config = loadMapperConfig(process.env);
const logger = createLogger({ service: 'mapper', level: config.LOG_LEVEL });
const tracing = initTracing({
  serviceName: 'mapper',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});

try {
  const kafka = new KafkaClient({
    clientId: 'mapper',
    ...kafkaConnectionFrom(config),
    compression: config.KAFKA_COMPRESSION,
    logger,
  });
  await prepareOwnTopics(kafka, config, TOPICS_OWNED(config.KAFKA_TOPIC_PARTITIONS));
  const producer = await kafka.producer();
  const mapper = buildMapper(config, {
    logger,
    kafka,
    producer,
    onFatal: () => process.exit(1), // the orchestrator restarts us
  });
  await mapper.app.listen({ host: config.HOST, port: config.PORT });
  await mapper.start();

  const shutdown = installShutdown(
    logger,
    [
      { name: 'stop consuming, finish in-flight message, commit offsets', run: () => mapper.stopConsuming() },
      { name: 'close kafka producer', run: () => producer.close() },
      { name: 'close http', run: () => mapper.app.close() },
      { name: 'flush traces', run: () => tracing.shutdown() },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignalsAndCrashes(logger, shutdown);
} catch (err) {
  logger.fatal({ err }, 'mapper failed to start');
  process.exit(1);
}
