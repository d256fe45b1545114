import {
  AuthEnv,
  authEnvProblems,
  httpEnv,
  KafkaEnv,
  kafkaEnvProblems,
  LogEnv,
  loadConfig,
  MongoEnv,
  mongoEnvProblems,
  RateLimitEnv,
  TracingEnv,
} from '@hub/config';
import Type, { type Static } from 'typebox';

export const WriterEnv = Type.Object({
  ...LogEnv,
  ...TracingEnv,
  ...httpEnv(8084),
  ...KafkaEnv,
  ...MongoEnv,
  ...AuthEnv,
  ...RateLimitEnv,
  KAFKA_GROUP_ID: Type.String({ minLength: 1, default: 'entity-writer' }),
  /**
   * What this instance runs (one image, separable roles): `consumer` writes entity updates, `api` serves
   * the entity reads, `all` both (the local stack). Reads then scale apart from writes.
   */
  WRITER_ROLE: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('consumer')], {
    default: 'all',
  }),
  /**
   * Partitions of the entity-updates topic handled at once by this instance. The chunks handed over
   * together are applied in one call (`src/combine.ts`), so this is at least the partitions an instance
   * usually holds (`KAFKA_TOPIC_PARTITIONS`, 6 on the local stack): a fetch's chunks are then one call, not
   * rounds of calls one after the other.
   */
  WRITER_CONCURRENCY: Type.Integer({ minimum: 1, default: 6 }),
  /**
   * How long an entity search that queries attributes (any search but one naming the unique ids the
   * schema's entities were created with, which is a read by id) may take; past it, 400 QUERY_TOO_LARGE.
   * On FerretDB no index serves it: it reads every organisation's entities.
   */
  ENTITY_SEARCH_MAX_MS: Type.Integer({ minimum: 100, default: 30_000 }),
});
export type WriterConfig = Static<typeof WriterEnv>;

export const loadWriterConfig = (env: Record<string, string | undefined>) =>
  loadConfig('entity-writer', WriterEnv, env, [
    // A consumer serves no API and verifies no token: its pod holds no token key (ADR 0015, decision 16).
    (config) => (config.WRITER_ROLE === 'consumer' ? [] : authEnvProblems(config)),
    kafkaEnvProblems,
    mongoEnvProblems,
  ]);
