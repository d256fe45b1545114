import { Topics } from '@hub/contracts';
import { EventStore } from '@hub/event-store';
import {
  combine,
  createHttpServer,
  createMetrics,
  registerAuth,
  registerMetrics,
  registerProbes,
  registerRateLimit,
} from '@hub/http';
import type { MessageProducer } from '@hub/kafka';
import { type MongoStore, WindowCounter } from '@hub/mongo';
import type { Logger } from '@hub/observability';
import type { ConfigServiceConfig } from './config.js';
import { ConfigPublisher } from './publisher.js';
import { IntegrationsRepository } from './repository.js';
import { registerEventRoutes } from './routes/events.js';
import { registerIntegrationRoutes } from './routes/integrations.js';
import { registerSimulationRoutes } from './routes/simulation.js';
import { registerUseCaseChangeRoutes, registerUseCaseRoutes } from './routes/use-cases.js';
import { UseCaseService } from './use-cases.js';

export interface ConfigServiceDeps {
  logger: Logger;
  mongo: MongoStore;
  producer: MessageProducer;
}

/** The config-service's HTTP app: integrations, use cases (and their topic snapshots). */
export async function buildApp(config: ConfigServiceConfig, deps: ConfigServiceDeps) {
  const app = createHttpServer({ logger: deps.logger });
  const repository = new IntegrationsRepository(deps.mongo);
  await repository.ensureIndexes();
  const publisher = new ConfigPublisher(repository, deps.producer);
  const useCases = new UseCaseService(repository);
  let closing = false;

  await registerAuth(app, { secret: config.AUTH_JWT_SECRET, issuer: config.AUTH_JWT_ISSUER });
  const requestCounter = new WindowCounter(deps.mongo);
  registerRateLimit(app, {
    limit: config.RATE_LIMIT_PER_MINUTE,
    windowMs: 60_000,
    hit: (key, windowMs, limit) => requestCounter.hit(key, windowMs, limit),
  });
  registerMetrics(app, createMetrics('config-service'));
  registerProbes(app, {
    live: () => combine({ process: true }),
    ready: async () =>
      combine({
        accepting: !closing,
        mongo: await deps.mongo.ping().then(
          () => true,
          () => false,
        ),
      }),
  });
  registerIntegrationRoutes(app, { repository, publisher, useCases });
  registerUseCaseRoutes(app, { repository, publisher, useCases });
  registerUseCaseChangeRoutes(app, { repository, publisher, useCases });
  registerSimulationRoutes(app);
  const events = new EventStore(deps.mongo);
  await events.ensureIndexes();
  registerEventRoutes(app, { repository, events, producer: deps.producer });
  app.addHook('onClose', async () => {
    closing = true;
  });
  return app;
}

export const TOPICS_OWNED = (partitions: number) => [
  { topic: Topics.configChanges, partitions: 1, compacted: true },
  { topic: Topics.inboundEvents, partitions },
];
