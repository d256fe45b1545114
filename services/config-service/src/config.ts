import {
  AuthEnv,
  authEnvProblems,
  httpEnv,
  KafkaEnv,
  kafkaEnvProblems,
  LogEnv,
  loadConfig,
  MongoEnv,
  mappingSandboxEnv,
  mongoEnvProblems,
  RateLimitEnv,
  TracingEnv,
} from '@hub/config';
import Type, { type Static } from 'typebox';

export const ConfigServiceEnv = Type.Object({
  ...LogEnv,
  ...TracingEnv,
  ...httpEnv(8082),
  ...KafkaEnv,
  ...MongoEnv,
  ...AuthEnv,
  ...RateLimitEnv,
  /**
   * Simulations run in their own workers (two: one organisation's slow simulations hold at most
   * SIMULATIONS_RUNNING_PER_ORG of them, so another's starts at once).
   */
  ...mappingSandboxEnv({ deadlineMs: 2_000, workers: 2 }),
  /**
   * Added to the service's nice value for every simulation worker from its start (at most 19; 0: none):
   * simulations are not on the hub's pipeline, so neither a slow one nor a worker's start-up (each
   * simulation stopped at its deadline replaces its worker) takes CPU the pipeline needs.
   */
  SIMULATION_WORKER_NICE: Type.Integer({ minimum: 0, maximum: 19, default: 10 }),
  /** Simulations of one organisation running at once per instance; its others wait in its own queue. */
  SIMULATIONS_RUNNING_PER_ORG: Type.Integer({ minimum: 1, default: 1 }),
  /**
   * Simulations of one organisation waiting at most per instance; one more is answered 429
   * TOO_MANY_CONCURRENT_REQUESTS at once.
   */
  SIMULATIONS_QUEUED_PER_ORG: Type.Integer({ minimum: 0, default: 16 }),
  /**
   * Running time one organisation's simulations may take per SIMULATION_BUDGET_WINDOW_MS per instance, a
   * rate (ADR 0015, decisions 24 and 26): running time is owed and paid back at that rate; an organisation
   * owing the budget or more waits until it owes less. An ordinary simulation takes a few ms; one stopped
   * at its deadline (MAPPING_DEADLINE_MS, 2 s) takes 2 s of a worker and the start of a new one.
   */
  SIMULATION_ORG_BUDGET_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  SIMULATION_BUDGET_WINDOW_MS: Type.Integer({ minimum: 1_000, default: 60_000 }),
  /**
   * How long a simulation waits for its turn at most (behind its organisation's others, or for its
   * budget); past it, 429 (SIMULATION_BUDGET_EXCEEDED when over the budget) with Retry-After.
   */
  SIMULATION_MAX_WAIT_MS: Type.Integer({ minimum: 0, default: 10_000 }),
  /** How long monitoring records are kept (docs/monitoring.md). */
  MONITORING_RETENTION_DAYS: Type.Integer({ minimum: 1, default: 30 }),
  /** How often monitoring records past retention are removed (by every instance; idempotent). */
  MONITORING_SWEEP_INTERVAL_MS: Type.Integer({ minimum: 1000, default: 10 * 60 * 1000 }),
  /**
   * What this instance runs (one image, separable roles): `api` the public configuration, events and
   * monitoring APIs, `sink` the monitoring sink (`erp.monitoring.events` → Mongo) and its retention sweeper,
   * `all` both (the local stack). The sink then scales apart from the API.
   */
  CONFIG_SERVICE_ROLE: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('sink')], {
    default: 'all',
  }),
  /** The consumer group of the monitoring sink (`erp.monitoring.events` → Mongo). */
  MONITORING_GROUP_ID: Type.String({ minLength: 1, default: 'config-service-monitoring' }),
  /** The mapper's and the entity-writer's consumer groups (their KAFKA_GROUP_ID), whose lag `/v2/hub/pipeline` shows. */
  MAPPER_GROUP_ID: Type.String({ minLength: 1, default: 'mapper' }),
  WRITER_GROUP_ID: Type.String({ minLength: 1, default: 'entity-writer' }),
  /**
   * How long one statistics or time-series scan may take, on the database (`maxTimeMS`) and in all; past
   * it, 400 QUERY_TOO_LARGE. On FerretDB no index serves these reads: one statistics request read every
   * organisation's buckets for over a minute, a core of the database the whole time (issue 19's
   * noisy-neighbour benchmark). The aggregation budget is checked before a scan starts; this ends it.
   */
  MONITORING_SCAN_MAX_MS: Type.Integer({ minimum: 100, default: 5_000 }),
  /**
   * The same for a page of records or a trace (the console's reads): longer, since on FerretDB with a
   * database of history (1.5 GB) a trace took more than 5 s.
   */
  MONITORING_QUERY_MAX_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  /** Records one statistics or time-series request may aggregate; more is 400 QUERY_TOO_LARGE. */
  MONITORING_SCAN_MAX_RECORDS: Type.Integer({ minimum: 100, default: 200_000 }),
  /**
   * Statistics and time-series requests (aggregations) one organisation runs at once per instance; its
   * others wait in its own queue, other organisations' are served first (ADR 0015, decision 4).
   */
  MONITORING_AGGREGATIONS_PER_ORG: Type.Integer({ minimum: 1, default: 1 }),
  /** Aggregations of one organisation waiting at most per instance (more: 429). The console asks for three at once. */
  MONITORING_AGGREGATIONS_QUEUED_PER_ORG: Type.Integer({ minimum: 0, default: 8 }),
  /** Aggregations running at once per instance, all organisations together (served in turn). */
  MONITORING_AGGREGATIONS_RUNNING: Type.Integer({ minimum: 1, default: 4 }),
  /**
   * Running time one organisation's aggregations may take per MONITORING_BUDGET_WINDOW_MS per instance, a
   * rate (ADR 0015, decision 26): an organisation owing it or more waits until it owes less (they share
   * the database with every organisation's ingest and pipeline; a scan stopped at MONITORING_SCAN_MAX_MS,
   * 5 s, holds its organisation 40 s).
   */
  MONITORING_ORG_BUDGET_MS: Type.Integer({ minimum: 100, default: 1_000 }),
  MONITORING_BUDGET_WINDOW_MS: Type.Integer({ minimum: 1_000, default: 10_000 }),
  /** Quotas per organisation: every gateway and mapper holds every configuration in memory. */
  MAX_INTEGRATIONS_PER_ORG: Type.Integer({ minimum: 1, default: 200 }),
  MAX_USE_CASES_PER_INTEGRATION: Type.Integer({ minimum: 1, default: 100 }),
  MAX_CONFIGURATION_BYTES: Type.Integer({ minimum: 1024, maximum: 8 * 1024 * 1024, default: 256 * 1024 }),
  /**
   * Configuration one organisation may hold: its integrations' snapshots (integration, use cases, app
   * mappings) as every mapper holds them decoded, estimated by `heldBytes` (bytes of JSON plus the
   * objects' overhead; ADR 0015, decision 14). 16 MiB.
   */
  MAX_CONFIGURATION_BYTES_PER_ORG: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
  /**
   * One integration's snapshot at most (the same measure, so at most as many bytes of JSON): what one
   * change republishes on `erp.config.changes` and every mirror reads before the next request is
   * answered. 4 MiB, at most 16 MiB (half the topic's 32 MiB message limit).
   */
  MAX_INTEGRATION_CONFIG_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 16 * 1024 * 1024,
    default: 4 * 1024 * 1024,
  }),
  /**
   * Bytes of integration snapshots one organisation's configuration changes may republish per minute per
   * instance, and at once after a quiet while (ADR 0015, decision 24): each change republishes its
   * integration whole to every gateway and mapper. A change past it waits for the bucket, at most
   * CONFIGURATION_CHANGE_MAX_WAIT_MS; a longer wait is 429 CONFIGURATION_RATE_EXCEEDED with Retry-After.
   */
  CONFIGURATION_REPUBLISH_BYTES_PER_MINUTE: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
  CONFIGURATION_REPUBLISH_BURST_BYTES: Type.Integer({ minimum: 0, default: 8 * 1024 * 1024 }),
  CONFIGURATION_CHANGE_MAX_WAIT_MS: Type.Integer({ minimum: 0, default: 30_000 }),
  /** Spans returned by `getMonitoringTraceByCorrelation` at most (then `truncated`). */
  MONITORING_TRACE_MAX_SPANS: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
});
export type ConfigServiceConfig = Static<typeof ConfigServiceEnv>;

export const loadConfigServiceConfig = (env: Record<string, string | undefined>) =>
  loadConfig('config-service', ConfigServiceEnv, env, [
    // A sink serves no API and verifies no token: its pod holds no token key (ADR 0015, decision 16).
    (config) => (config.CONFIG_SERVICE_ROLE === 'sink' ? [] : authEnvProblems(config)),
    kafkaEnvProblems,
    mongoEnvProblems,
  ]);
