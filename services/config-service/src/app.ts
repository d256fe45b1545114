import { QuarantineView, Topics } from '@hub/contracts';
import { EventStore } from '@hub/event-store';
import {
  ApiError,
  authSettingsFrom,
  combine,
  createHttpServer,
  createMetrics,
  FairQueue,
  registerAuth,
  registerMetrics,
  registerProbes,
  registerRateLimit,
} from '@hub/http';
import { type KafkaClient, type MessageProducer, mirrorInto } from '@hub/kafka';
import { MappingSandbox } from '@hub/mapping';
import {
  expireDocuments,
  isUnavailableError,
  LeaseBusyError,
  Leases,
  type MongoStore,
  prepareLayout,
  RATE_LIMIT_COLLECTIONS,
  WindowCounter,
} from '@hub/mongo';
import type { Logger } from '@hub/observability';
import { OrgConfigurationBudget } from './budget.js';
import { ConfigurationChangeRate } from './change-rate.js';
import type { ConfigServiceConfig } from './config.js';
import { MonitoringRepository } from './monitoring/repository.js';
import { monitoringSink } from './monitoring/sink.js';
import { ConfigPublisher } from './publisher.js';
import { IntegrationsRepository } from './repository.js';
import { registerEventRoutes } from './routes/events.js';
import { registerIntegrationRoutes } from './routes/integrations.js';
import { registerMonitoringRoutes } from './routes/monitoring.js';
import { pipelineGroups, registerPipelineRoutes } from './routes/pipeline.js';
import { registerSimulationRoutes } from './routes/simulation.js';
import { registerUseCaseChangeRoutes, registerUseCaseRoutes } from './routes/use-cases.js';
import { UseCaseService } from './use-cases.js';

export interface ConfigServiceDeps {
  logger: Logger;
  mongo: MongoStore;
  producer: MessageProducer;
  kafka: KafkaClient;
  /** The monitoring sink's consume loop died for good: log and exit. */
  onFatal: (err: unknown) => void;
}

/**
 * The config-service: integrations, use cases (and their topic snapshots), stored events, and
 * monitoring (the sink from `erp.monitoring.events` into Mongo, the read APIs, the retention sweeper).
 */
export async function buildApp(config: ConfigServiceConfig, deps: ConfigServiceDeps) {
  const app = createHttpServer({ logger: deps.logger, isUnavailable: isUnavailableError });
  await prepareLayout(deps.mongo, COLLECTIONS_OWNED, config.DB_LAYOUT, deps.logger);
  const repository = new IntegrationsRepository(deps.mongo);
  // What one organisation's changes republish to every gateway and mapper (ADR 0015, decision 24).
  const changeRate = new ConfigurationChangeRate({
    bytesPerMinute: config.CONFIGURATION_REPUBLISH_BYTES_PER_MINUTE,
    burstBytes: config.CONFIGURATION_REPUBLISH_BURST_BYTES,
    maxWaitMs: config.CONFIGURATION_CHANGE_MAX_WAIT_MS,
  });
  const publisher = new ConfigPublisher(repository, deps.producer, (orgId, bytes) =>
    changeRate.charge(orgId, bytes),
  );
  const useCases = new UseCaseService(repository, {
    integrationsPerOrg: config.MAX_INTEGRATIONS_PER_ORG,
    useCasesPerIntegration: config.MAX_USE_CASES_PER_INTEGRATION,
    configurationBytes: config.MAX_CONFIGURATION_BYTES,
  });
  const budget = new OrgConfigurationBudget(
    repository,
    async (orgId, integrationId) => (await publisher.snapshot(orgId, integrationId))?.bytes,
    {
      orgBytes: config.MAX_CONFIGURATION_BYTES_PER_ORG,
      integrationBytes: config.MAX_INTEGRATION_CONFIG_BYTES,
    },
    budgetLock(new Leases(deps.mongo)),
    changeRate,
  );
  let closing = false;
  const monitoring = new MonitoringRepository(
    deps.mongo,
    config.MONITORING_RETENTION_DAYS,
    config.MONITORING_QUERY_MAX_MS,
    config.MONITORING_SCAN_MAX_MS,
  );
  const metrics = createMetrics('config-service');
  const sink = monitoringSink({
    groupId: config.MONITORING_GROUP_ID,
    kafka: deps.kafka,
    producer: deps.producer,
    repository: monitoring,
    logger: deps.logger,
    onFatal: deps.onFatal,
    metrics,
  });

  // The use cases the mapper quarantined (ADR 0015, decision 13), shown as their `status`: the API
  // instances mirror the compacted topic (few records), as the mapper's instances do.
  const quarantines = new QuarantineView();
  const quarantineMirror = mirrorInto(deps.kafka, {
    topic: Topics.quarantines,
    view: quarantines,
    what: 'quarantine record',
    logger: deps.logger,
  });

  const sinks = config.CONFIG_SERVICE_ROLE !== 'api';
  const serves = config.CONFIG_SERVICE_ROLE !== 'sink';
  if (serves) {
    // A sink serves no API: it needs no token key (ADR 0015, decision 16) and verifies no token.
    await registerAuth(app, authSettingsFrom(config));
    const requestCounter = new WindowCounter(deps.mongo);
    registerRateLimit(app, {
      limit: config.RATE_LIMIT_PER_MINUTE,
      windowMs: 60_000,
      hit: (key, windowMs, limit) => requestCounter.hit(key, windowMs, limit),
    });
  }
  registerMetrics(app, metrics);
  registerProbes(
    app,
    {
      live: () => combine({ process: true, ...(sinks ? { monitoringSink: sink.health().alive } : {}) }),
      ready: async () =>
        combine({
          accepting: !closing,
          ...(serves ? { quarantines: quarantineMirror.isReady() } : {}),
          ...(sinks ? { monitoringSink: sink.health().ready } : {}),
          mongo: await deps.mongo.ping().then(
            () => true,
            () => false,
          ),
        }),
    },
    metrics,
  );
  const sandbox = new MappingSandbox({
    limits: { timeoutMs: config.EXPRESSION_TIMEOUT_MS, maxDepth: 500 },
    deadlineMs: config.MAPPING_DEADLINE_MS,
    memoryMb: config.MAPPING_MEMORY_MB,
    output: {
      maxUpdateBytes: config.MAPPING_MAX_UPDATE_BYTES,
      maxEventBytes: config.MAPPING_MAX_EVENT_BYTES,
    },
    workers: config.MAPPING_WORKERS,
    niceness: config.MAPPING_WORKER_NICE,
    niceAfterMs: config.MAPPING_NICE_AFTER_MS,
    startNiceness: config.SIMULATION_WORKER_NICE,
    // Per organisation, behind the simulations' FairQueue below: one organisation's waiting jobs refuse
    // it, not others, and its running ones leave a worker free for the others (ADR 0015, decision 3).
    maxQueuedPerTenant: config.SIMULATIONS_QUEUED_PER_ORG,
    maxRunningPerTenant: config.SIMULATIONS_RUNNING_PER_ORG,
    prestart: serves,
  });
  const events = new EventStore(deps.mongo);
  if (serves) {
    registerIntegrationRoutes(app, { repository, publisher, useCases, budget, quarantines });
    registerUseCaseRoutes(app, { repository, publisher, useCases, budget, quarantines });
    registerUseCaseChangeRoutes(app, { repository, publisher, useCases, budget, quarantines });
    // One organisation's simulations run one at a time, within a budget of running time, and wait at most
    // SIMULATION_MAX_WAIT_MS (ADR 0015, decisions 3 and 24); the sandbox's own limits stay behind it.
    const simulations = new FairQueue({
      what: 'simulations',
      runningPerKey: config.SIMULATIONS_RUNNING_PER_ORG,
      runningTotal: config.MAPPING_WORKERS,
      queuedPerKey: config.SIMULATIONS_QUEUED_PER_ORG,
      budget: { ms: config.SIMULATION_ORG_BUDGET_MS, windowMs: config.SIMULATION_BUDGET_WINDOW_MS },
      maxWaitMs: config.SIMULATION_MAX_WAIT_MS,
      budgetCode: 'SIMULATION_BUDGET_EXCEEDED',
    });
    app.addHook('onClose', async () => simulations.close());
    registerSimulationRoutes(app, sandbox, simulations);
    registerEventRoutes(app, { repository, events, producer: deps.producer });
    registerMonitoringRoutes(app, {
      repository,
      monitoring,
      events,
      producer: deps.producer,
      traceMaxSpans: config.MONITORING_TRACE_MAX_SPANS,
      scanMaxRecords: config.MONITORING_SCAN_MAX_RECORDS,
      aggregations: {
        runningPerOrg: config.MONITORING_AGGREGATIONS_PER_ORG,
        queuedPerOrg: config.MONITORING_AGGREGATIONS_QUEUED_PER_ORG,
        running: config.MONITORING_AGGREGATIONS_RUNNING,
        orgBudgetMs: config.MONITORING_ORG_BUDGET_MS,
        windowMs: config.MONITORING_BUDGET_WINDOW_MS,
      },
    });
    registerPipelineRoutes(app, {
      kafka: deps.kafka,
      groups: pipelineGroups({
        mapper: config.MAPPER_GROUP_ID,
        writer: config.WRITER_GROUP_ID,
        monitoring: config.MONITORING_GROUP_ID,
      }),
    });
  }
  app.addHook('onClose', async () => {
    closing = true;
    await sandbox.close();
    await quarantineMirror.stop();
  });

  let stopSweeper: (() => void) | undefined;
  return {
    app,
    /**
     * Starts the quarantines' mirror (API), the monitoring sink (resolves once it runs) and the retention
     * sweeper (sink).
     */
    start: async () => {
      if (serves) await quarantineMirror.start();
      if (!sinks) return; // the API alone
      await sink.start();
      // Records past retention: TTL on MongoDB, this sweeper on FerretDB (libs/mongo retention.ts).
      stopSweeper = expireDocuments(deps.mongo, ['monitoring_buckets', 'monitoring_events'], {
        intervalMs: config.MONITORING_SWEEP_INTERVAL_MS,
        logger: deps.logger,
      });
    },
    /** Stops the sweeper and the sink: finishes the in-flight record, commits, leaves the group. */
    stopSink: async () => {
      stopSweeper?.();
      if (sinks) await sink.stop();
    },
  };
}

/**
 * An organisation's growing configuration changes one at a time, across every instance (a lease in the
 * database): the budget's check and the write it allows are not one transaction on FerretDB. A change
 * that waits longer than 10 s is 503 `CONFIGURATION_BUSY`; a lease whose holder died lapses after 30 s.
 */
function budgetLock(leases: Leases) {
  return {
    hold: async <T>(key: string, body: () => Promise<T>): Promise<T> => {
      try {
        return await leases.hold(key, { ttlMs: 30_000, waitMs: 10_000 }, body);
      } catch (err) {
        if (!(err instanceof LeaseBusyError)) throw err;
        throw new ApiError(
          503,
          'CONFIGURATION_BUSY',
          'another change of this organisation’s configuration is being written; retry shortly',
          { 'retry-after': '1' },
        );
      }
    },
  };
}

/** The collections whose layout the config-service prepares at start-up (libs/mongo plan.ts, `DB_LAYOUT`). */
export const COLLECTIONS_OWNED = [
  'integrations',
  'use_cases',
  'use_case_history',
  'app_mappings',
  'leases',
  'monitoring_buckets',
  'monitoring_events',
  'inbound_requests',
  'inbound_events',
  ...RATE_LIMIT_COLLECTIONS,
];

export const TOPICS_OWNED = (partitions: number) => [
  { topic: Topics.configChanges, partitions: 1, compacted: true },
  { topic: Topics.quarantines, partitions: 1, compacted: true },
  { topic: Topics.inboundEvents, partitions },
  { topic: Topics.monitoringEvents, partitions },
  { topic: Topics.deadLetters, partitions },
];
