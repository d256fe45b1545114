import {
  httpEnv,
  KafkaEnv,
  kafkaEnvProblems,
  LogEnv,
  loadConfig,
  mappingSandboxEnv,
  TracingEnv,
} from '@hub/config';
import Type, { type Static } from 'typebox';

export const MapperEnv = Type.Object({
  ...LogEnv,
  ...TracingEnv,
  ...httpEnv(8083),
  ...KafkaEnv,
  KAFKA_GROUP_ID: Type.String({ minLength: 1, default: 'mapper' }),
  /** Partitions of the inbound topic processed at once by this instance. */
  MAPPER_CONCURRENCY: Type.Integer({ minimum: 1, default: 3 }),
  /**
   * How long the mapper waits for a fetched chunk with none of its events done before it commits what is
   * done and fetches the other partitions again; the rest keeps mapping, and its partition is fetched again once it is done or after
   * twice this (ADR 0015, decision 19).
   */
  MAPPER_CHUNK_PATIENCE_MS: Type.Integer({ minimum: 10, maximum: 10_000, default: 100 }),
  // Three workers: one organisation may hold two (all but one, ADR 0015 decision 18), as many as it had.
  ...mappingSandboxEnv({ deadlineMs: 5_000, workers: 3 }),
  /**
   * Waiting events of one organisation a mapping worker takes in one message (ADR 0015, decision 25; 1:
   * one event per message), and how long such a batch may start events before the ones not started go
   * back to the queue (MAPPING_BATCH_SLICE_MS).
   */
  MAPPING_BATCH_MAX: Type.Integer({ minimum: 1, maximum: 1_000, default: 32 }),
  MAPPING_BATCH_SLICE_MS: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
  CONFIG_CATCHUP_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  /**
   * Sharing the workers (ADR 0015, decision 10): an organisation that used more than this much worker time
   * in the window has its mappings taken only when no other organisation's mapping waits.
   */
  MAPPING_ORG_BUDGET_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  /** The window of MAPPING_ORG_BUDGET_MS and of MAPPING_QUARANTINE_AFTER. */
  MAPPING_BUDGET_WINDOW_MS: Type.Integer({ minimum: 1_000, default: 60_000 }),
  /**
   * A use case whose events hit the mapping budget (MAPPING_DEADLINE_MS or MAPPING_MEMORY_MB) this many
   * times in the window is quarantined: its events are parked until its configuration changes.
   */
  MAPPING_QUARANTINE_AFTER: Type.Integer({ minimum: 1, default: 3 }),
  /** Compiled mappings each worker keeps per organisation, and in all (the tenant holding most gives way). */
  MAPPING_CACHE_PER_ORG: Type.Integer({ minimum: 1, default: 64 }),
  MAPPING_CACHE_ENTRIES: Type.Integer({ minimum: 1, default: 512 }),
});
export type MapperConfig = Static<typeof MapperEnv>;

export const loadMapperConfig = (env: Record<string, string | undefined>) =>
  loadConfig('mapper', MapperEnv, env, [kafkaEnvProblems]);
