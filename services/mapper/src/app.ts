import {
  ConfigView,
  deadLetterMonitoringRecord,
  deadLetterRecord,
  monitoringMessage,
  QuarantineView,
  Topics,
} from '@hub/contracts';
import {
  Counter,
  combine,
  createHttpServer,
  createMetrics,
  Gauge,
  registerConfigViewMetrics,
  registerMetrics,
  registerProbes,
} from '@hub/http';
import {
  ConsumerRunner,
  type DeadLetterForm,
  type IncomingMessage,
  type KafkaClient,
  type MessageProducer,
  mirrorInto,
  type PermanentError,
  TopicMirror,
} from '@hub/kafka';
import { MappingSandbox } from '@hub/mapping';
import type { Logger } from '@hub/observability';
import type { MapperConfig } from './config.js';

import { OrgBudget, Quarantine } from './fairness.js';
import { ParkedLane } from './parked.js';
import { EventProcessor } from './processor.js';

export interface MapperDeps {
  logger: Logger;
  kafka: KafkaClient;
  producer: MessageProducer;
  onFatal: (err: unknown) => void;
}

/** The mapper: inbound events -> entity updates. Returns its HTTP app (probes, metrics) and lifecycle. */
export function buildMapper(config: MapperConfig, deps: MapperDeps) {
  // A snapshot is decoded when its organisation's first event needs it, not when the mirror reads it
  // (ADR 0015, decision 23): another organisation's configuration churn costs this one's events its
  // fetch, not its decoding.
  const view = new ConfigView({
    onUnreadable: (integrationId, err) =>
      deps.logger.error({ err, integrationId }, 'skipping unreadable config record'),
  });
  const mirror = mirrorInto(deps.kafka, {
    topic: Topics.configChanges,
    view: view,
    what: 'config record',
    logger: deps.logger,
  });
  // Sharing the workers fairly (ADR 0015, decision 10): worker time charged per organisation, one over
  // its budget served after the others; each organisation's mappings in turn; slow use cases quarantined.
  const budget = new OrgBudget({
    budgetMs: config.MAPPING_ORG_BUDGET_MS,
    windowMs: config.MAPPING_BUDGET_WINDOW_MS,
  });
  const quarantine = new Quarantine({
    after: config.MAPPING_QUARANTINE_AFTER,
    windowMs: config.MAPPING_BUDGET_WINDOW_MS,
  });
  // Every instance parks the events of a revision any instance quarantined, also after a restart
  // (ADR 0015, decision 13): the quarantines are mirrored from their compacted topic before consuming.
  const quarantines = new QuarantineView();
  const quarantineMirror = new TopicMirror(deps.kafka, {
    topic: Topics.quarantines,
    logger: deps.logger,
    apply: (m) => {
      try {
        const record = quarantines.apply(m.key, m.value);
        if (record) {
          quarantine.restore({
            orgId: record.org_id,
            integrationId: record.integration_id,
            useCaseId: record.use_case_id,
            revision: record.revision,
            since: record.since,
            reason: record.reason,
          });
        } else if ((m.value === null || m.value.length === 0) && m.key) {
          const at = m.key.lastIndexOf('@');
          quarantine.release(m.key.slice(0, at), Number(m.key.slice(at + 1)));
        }
      } catch (err) {
        deps.logger.error({ err, offset: m.offset }, 'skipping unreadable quarantine record');
      }
    },
  });
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
    prestart: true,
    // Events are mapped with saved (validated) configurations: the workers start without the validator.
    validation: false,
    cache: { perTenant: config.MAPPING_CACHE_PER_ORG, total: config.MAPPING_CACHE_ENTRIES },
    onUsage: (org, ms) => budget.charge(org, ms),
    isThrottled: (org) => budget.over(org),
    // One organisation runs on all workers but one (one, with a single worker), so another organisation's
    // mapping finds a worker free at once instead of waiting for one of its jobs to end, which may be the
    // mapping deadline away (ADR 0015, decision 18).
    maxRunningPerTenant: Math.max(1, config.MAPPING_WORKERS - 1),
    // An organisation's waiting events go to a worker in one message (decision 25).
    batch: { max: config.MAPPING_BATCH_MAX, sliceMs: config.MAPPING_BATCH_SLICE_MS },
  });
  const metrics = createMetrics('mapper');
  const quarantined = new Counter({
    name: 'hub_mapper_quarantines_total',
    help: 'Use case revisions this instance quarantined (their events kept hitting the mapping budget)',
    registers: [metrics],
  });
  new Gauge({
    name: 'hub_mapper_quarantined_use_cases',
    help: 'Use case revisions quarantined now, as this instance knows them (its own and the mirrored ones; their events are parked)',
    registers: [metrics],
    collect() {
      this.set(quarantine.size);
    },
  });
  const parked = new Counter({
    name: 'hub_mapper_parked_events_total',
    help: 'Events parked on erp.inbound.parked (quarantined use case), and handed back after a change',
    labelNames: ['outcome'] as const,
    registers: [metrics],
  });
  const processor = new EventProcessor({
    view,
    mirror,
    producer: deps.producer,
    logger: deps.logger,
    sandbox,
    catchUpTimeoutMs: config.CONFIG_CATCHUP_TIMEOUT_MS,
    quarantine,
    onQuarantined: () => quarantined.inc(),
    onParked: () => parked.inc({ outcome: 'parked' }),
    chunkPatienceMs: config.MAPPER_CHUNK_PATIENCE_MS,
  });
  const mapped = new Counter({
    name: 'hub_mapped_events_total',
    help: 'Inbound events mapped',
    registers: [metrics],
  });
  const deadLetters = new Counter({
    name: 'hub_dead_letters_total',
    help: 'Messages sent to the dead-letter topic, by error code',
    labelNames: ['code'] as const,
    registers: [metrics],
  });

  /** The dead letter of an event that can never be mapped, with its monitoring record. */
  const deadLetter = (
    message: IncomingMessage,
    error: PermanentError,
    attempts: number,
    form: DeadLetterForm = {},
  ) => {
    deps.logger.error({ code: error.code, err: error, offset: message.offset }, 'event dead-lettered');
    const record = deadLetterMonitoringRecord('mapper', message, error, attempts, form);
    return [
      deadLetterRecord('mapper', message, error, attempts, form),
      ...(record ? [monitoringMessage(record, message.headers)] : []),
    ];
  };

  const consumer = new ConsumerRunner(deps.kafka, {
    groupId: config.KAFKA_GROUP_ID,
    topics: [Topics.inboundEvents],
    batchHandler: async (messages) => {
      const result = await processor.handleBatch(messages, (message, error) => deadLetter(message, error, 1));
      mapped.inc(result.mapped);
      for (const code of result.codes) deadLetters.inc({ code });
      // Events still mapping (a slow neighbour's): the rest of the chunk is fetched again later (decision 19).
      return result.resumeAfter ? { taken: result.taken, resumeAfter: result.resumeAfter } : undefined;
    },
    handler: async (message) => {
      const { deadLetterCode } = await processor.handle(message);
      mapped.inc();
      if (deadLetterCode) deadLetters.inc({ code: deadLetterCode });
    },
    onPermanentFailure: async (message, error, attempts, form) => {
      // The dead letter and its monitoring record in one batch, before the offset is committed.
      await deps.producer.send(deadLetter(message, error, attempts, form));
      deadLetters.inc({ code: error.code });
    },
    onFatal: deps.onFatal,
    metrics,
    partitionsConsumedConcurrently: config.MAPPER_CONCURRENCY,
    logger: deps.logger,
  });

  // Parked events go back to the inbound topic once their use case's configuration changed (parked.ts).
  const lane = new ParkedLane({
    view,
    mirror,
    producer: deps.producer,
    catchUpTimeoutMs: config.CONFIG_CATCHUP_TIMEOUT_MS,
  });
  const resumer = new ConsumerRunner(deps.kafka, {
    groupId: `${config.KAFKA_GROUP_ID}.parked`,
    topics: [Topics.parkedEvents],
    handler: async (message) => {
      if ((await lane.handle(message)) === 'resumed') parked.inc({ outcome: 'resumed' });
    },
    onPermanentFailure: async (message, error, attempts) => {
      await deps.producer.send(deadLetter(message, error, attempts));
      deadLetters.inc({ code: error.code });
    },
    onFatal: deps.onFatal,
    partitionsConsumedConcurrently: config.MAPPER_CONCURRENCY,
    logger: deps.logger,
  });

  const app = createHttpServer({ logger: deps.logger });
  registerMetrics(app, metrics);
  registerConfigViewMetrics(metrics, view);
  registerProbes(
    app,
    {
      live: () => combine({ consumeLoop: consumer.health().alive }),
      ready: () =>
        combine({
          config: mirror.isReady(),
          quarantines: quarantineMirror.isReady(),
          consumer: consumer.health().ready,
          parked: resumer.health().ready,
        }),
    },
    metrics,
  );

  return {
    app,
    async start() {
      await mirror.start();
      await quarantineMirror.start();
      await consumer.start();
      await resumer.start();
    },
    async stopConsuming() {
      await resumer.stop();
      await consumer.stop();
      await quarantineMirror.stop();
      await mirror.stop();
      await sandbox.close();
    },
  };
}

export const TOPICS_OWNED = (partitions: number) => [
  { topic: Topics.inboundEvents, partitions },
  { topic: Topics.parkedEvents, partitions },
  { topic: Topics.entityUpdates, partitions },
  { topic: Topics.deadLetters, partitions },
  { topic: Topics.configChanges, partitions: 1, compacted: true },
  { topic: Topics.quarantines, partitions: 1, compacted: true },
  { topic: Topics.monitoringEvents, partitions },
];
