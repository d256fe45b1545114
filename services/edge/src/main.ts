import { installShutdown } from '@hub/http';
import { createLogger } from '@hub/observability';
import { buildEdge } from './app.js';
import { loadEdgeConfig } from './config.js';

const config = loadEdgeConfig(process.env);
const logger = createLogger({ service: 'edge', level: config.LOG_LEVEL });

try {
  const app = await buildEdge(config, { logger });
  await app.listen({ host: config.HOST, port: config.PORT });
  const shutdown = installShutdown(
    logger,
    [{ name: 'stop http', run: () => app.close() }],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, async () => {
      logger.info({ signal }, 'shutting down');
      process.exit(await shutdown());
    });
  }
} catch (err) {
  logger.fatal({ err }, 'edge failed to start');
  process.exit(1);
}
