import {
  deadLetterMonitoringRecord,
  deadLetterRecord,
  monitoringMessage,
  type ProcessedEntityMessage,
  Topics,
} from '@hub/contracts';
import {
  authSettingsFrom,
  Counter,
  combine,
  createHttpServer,
  createMetrics,
  everyIntervalFromRandomStart,
  registerAuth,
  registerMetrics,
  registerProbes,
  registerRateLimit,
} from '@hub/http';
import {
  ConsumerRunner,
  type IncomingMessage,
  isBrokerUnavailable,
  type KafkaClient,
  type MessageProducer,
  TopicScanner,
} from '@hub/kafka';
import {
  isUnavailableError,
  type MongoStore,
  prepareLayout,
  RATE_LIMIT_COLLECTIONS,
  WindowCounter,
} from '@hub/mongo';
import type { Logger } from '@hub/observability';
import { type MessageResult, UpdatesApplier } from './apply.js';
import { ChunkCombiner } from './combine.js';
import type { WriterConfig } from './config.js';
import { KeySets } from './keys.js';
import type { ApplyOutcome } from './monitoring.js';
import { publishedCheck, SentChanges } from './outbox.js';
import { PruneApplier } from './prune.js';
import { ReadingsApplier } from './readings.js';
import { ReadingsRepository } from './readings-repository.js';
import { EntityRefs } from './refs.js';
import { EntitiesRepository, SOFT_DELETE_RETENTION_MS } from './repository.js';
import { EntityResolver } from './resolver.js';
import { registerEntityRoutes } from './routes.js';
import { PruneRuns } from './runs.js';
import { EntitySearch } from './search.js';
import { EntityWriter } from './writer.js';

/** How often soft-deleted entities past their retention are purged (by any instance; idempotent). */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

export interface WriterDeps {
  logger: Logger;
  kafka: KafkaClient;
  mongo: MongoStore;
  producer: MessageProducer;
  onFatal: (err: unknown) => void;
  /** The topic of entity updates consumed (default `erp.entity.updates`; a test's own topic). */
  updatesTopic?: string;
}

/** The entity-writer: applies entity updates, publishes processed entities, serves entity reads. */
export async function buildWriter(config: WriterConfig, deps: WriterDeps) {
  await prepareLayout(deps.mongo, COLLECTIONS_OWNED, config.DB_LAYOUT, deps.logger);
  const repository = new EntitiesRepository(deps.mongo);
  const readings = new ReadingsRepository(deps.mongo);
  const scanner = new TopicScanner(deps.kafka, Topics.entitiesProcessed, deps.logger);
  const published = publishedCheck((sinceMs, keys, visit) =>
    scanner.scan({ sinceMs, keys, visit: (m) => visit(m.value) }),
  );
  const keySets = new KeySets(deps.mongo);
  const resolver = new EntityResolver(repository, keySets);
  const sent = new SentChanges();
  const refs = new EntityRefs(repository, resolver, keySets, sent);
  const runs = new PruneRuns(deps.mongo);
  const applier = new UpdatesApplier({
    writer: new EntityWriter(repository, resolver, keySets, sent),
    refs,
    pruner: new PruneApplier(repository, refs, runs),
    readings: new ReadingsApplier(readings, refs, runs),
    published,
    logger: deps.logger,
  });

  const metrics = createMetrics('entity-writer');
  const writes = new Counter({
    name: 'hub_entity_writes_total',
    help: 'Entity updates applied, by kind and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers: [metrics],
  });
  const deadLetters = new Counter({
    name: 'hub_dead_letters_total',
    help: 'Messages sent to the dead-letter topic, by error code',
    labelNames: ['code'] as const,
    registers: [metrics],
  });
  const counted = (results: MessageResult[]) => {
    for (const r of results) {
      if ('error' in r) {
        deadLetters.inc({ code: r.error.code });
        deps.logger.error(
          { code: r.error.code, err: r.error, partition: r.message.partition, offset: r.message.offset },
          'entity update dead-lettered',
        );
        continue;
      }
      writes.inc({ kind: r.update.kind ?? 'entity', outcome: String(outcomeLabel(r.outcome)) });
      deps.logger.debug(
        {
          outcome: r.outcome,
          kind: r.update.kind ?? 'entity',
          updateId: r.update.update_id,
          eventId: r.update.event_id,
          correlationId: r.update.correlation_id,
          partition: r.message.partition,
          offset: r.message.offset,
        },
        'entity update applied',
      );
    }
  };
  /** Applies, sends everything in one request, then purges and marks prune scopes done. */
  const run = async (messages: IncomingMessage[], attempt: number, single: boolean) => {
    const batch = await applier.apply(messages, attempt);
    const failed = batch.results.find((r) => 'error' in r);
    // One message alone: the runner dead-letters it (and retries what is transient).
    if (single && failed && 'error' in failed) throw failed.error;
    await deps.producer.send(batch.outgoing);
    sent.add(
      batch.outgoing
        .filter((m) => m.topic === Topics.entitiesProcessed)
        .map((m) => (m.value as ProcessedEntityMessage).meta.change_id),
    );
    for (const after of batch.afterSend) await after();
    counted(batch.results);
    return batch.results.length;
  };

  // The partitions' chunks of one fetch, handed over together, are applied in one call (combine.ts).
  const unavailable = (err: unknown) => isUnavailableError(err) || isBrokerUnavailable(err);
  const combiner = new ChunkCombiner((messages) => run(messages, 1, false), unavailable);
  const consumer = new ConsumerRunner(deps.kafka, {
    groupId: config.KAFKA_GROUP_ID,
    topics: [deps.updatesTopic ?? Topics.entityUpdates],
    batchHandler: (messages) => combiner.submit(messages),
    handler: async (message, attempt) => {
      await run([message], attempt, true);
    },
    onPermanentFailure: async (message, error, attempts, form) => {
      deps.logger.error(
        { code: error.code, err: error, offset: message.offset },
        'entity update dead-lettered',
      );
      const record = deadLetterMonitoringRecord('entity-writer', message, error, attempts, form);
      await deps.producer.send([
        deadLetterRecord('entity-writer', message, error, attempts, form),
        ...(record ? [monitoringMessage(record, message.headers)] : []),
      ]);
      deadLetters.inc({ code: error.code });
    },
    onFatal: deps.onFatal,
    // The database or the broker down: wait for it; anything else failing ten times is dead-lettered.
    isUnavailable: unavailable,
    metrics,
    partitionsConsumedConcurrently: config.WRITER_CONCURRENCY,
    logger: deps.logger,
  });

  const app = createHttpServer({ logger: deps.logger, isUnavailable: isUnavailableError });
  if (config.WRITER_ROLE !== 'consumer') {
    // A consumer serves no API: it needs no token key (ADR 0015, decision 16) and verifies no token.
    await registerAuth(app, authSettingsFrom(config));
    const requestCounter = new WindowCounter(deps.mongo);
    registerRateLimit(app, {
      limit: config.RATE_LIMIT_PER_MINUTE,
      windowMs: 60_000,
      hit: (key, windowMs, limit) => requestCounter.hit(key, windowMs, limit),
    });
  }
  registerMetrics(app, metrics);
  const consumes = config.WRITER_ROLE !== 'api';
  registerProbes(
    app,
    {
      live: () => combine(consumes ? { consumeLoop: consumer.health().alive } : { process: true }),
      ready: async () =>
        combine({
          ...(consumes ? { consumer: consumer.health().ready } : {}),
          mongo: await deps.mongo.ping().then(
            () => true,
            () => false,
          ),
        }),
    },
    metrics,
  );
  if (config.WRITER_ROLE !== 'consumer')
    registerEntityRoutes(
      app,
      repository,
      readings,
      new EntitySearch(repository, keySets, config.ENTITY_SEARCH_MAX_MS),
    );

  let stopSweeper: (() => void) | undefined;
  const sweep = async () => {
    try {
      const cutoff = new Date(Date.now() - SOFT_DELETE_RETENTION_MS).toISOString();
      const purged = await repository.sweepDeleted(cutoff);
      if (purged > 0) deps.logger.info({ purged, cutoff }, 'soft-deleted entities past retention purged');
    } catch (err) {
      deps.logger.warn({ err }, 'sweeping soft-deleted entities failed; next sweep retries');
    }
  };

  return {
    app,
    start: async () => {
      if (!consumes) return; // the read API alone
      await consumer.start();
      stopSweeper = everyIntervalFromRandomStart(sweep, SWEEP_INTERVAL_MS);
    },
    stopConsuming: async () => {
      stopSweeper?.();
      // The call under way finishes and commits, unless it waits on a topic scan that outlasts a few
      // seconds: the scan is ended then, the call fails uncommitted and the next owner redoes it, rather
      // than the shutdown timing out with the process killed (seen in the chaos run, seed 437660).
      const abort = setTimeout(() => void scanner.stop(), SCAN_GRACE_ON_STOP_MS);
      try {
        if (consumes) await consumer.stop();
      } finally {
        clearTimeout(abort);
      }
      await scanner.stop();
    },
  };
}

/** How long an ordered shutdown lets a topic scan of the call under way go on (SHUTDOWN_TIMEOUT_MS is 15 s). */
const SCAN_GRACE_ON_STOP_MS = 5_000;

/** The collections whose layout the entity-writer prepares at start-up (libs/mongo plan.ts, `DB_LAYOUT`). */
export const COLLECTIONS_OWNED = [
  'entities',
  'meter_readings',
  'entity_key_sets',
  'writer_prune_runs',
  ...RATE_LIMIT_COLLECTIONS,
];

export const TOPICS_OWNED = (partitions: number) => [
  { topic: Topics.entityUpdates, partitions },
  { topic: Topics.entitiesProcessed, partitions },
  { topic: Topics.deadLetters, partitions },
  { topic: Topics.monitoringEvents, partitions },
];

/** The outcome label of `hub_entity_writes_total` (prune and reading outcomes are objects or words). */
function outcomeLabel(outcome: ApplyOutcome): string {
  if (typeof outcome === 'string') return outcome;
  return 'already_applied' in outcome && outcome.already_applied ? 'already_applied' : 'applied';
}
