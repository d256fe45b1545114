import { exitOnSignalsAndCrashes, installShutdown } from '@hub/http';
import { createLogger, initTracing } from '@hub/observability';
import { buildEdge } from './app.js';
import { loadEdgeConfig } from './config.js';

const config = loadEdgeConfig(process.env);
const logger = createLogger({ service: 'edge', level: config.LOG_LEVEL });
const tracing = initTracing({
  serviceName: 'edge',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});

try {
  const app = await buildEdge(config, { logger });
  await app.listen({ host: config.HOST, port: config.PORT });
  const shutdown = installShutdown(
    logger,
    [
      { name: 'stop http', run: () => app.close() },
      { name: 'flush traces', run: () => tracing.shutdown() },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignalsAndCrashes(logger, shutdown);
} catch (err) {
  logger.fatal({ err }, 'edge failed to start');
  process.exit(1);
}
