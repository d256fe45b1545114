import {
  AuthEnv,
  authEnvProblems,
  httpEnv,
  KafkaEnv,
  LogEnv,
  loadConfig,
  MongoEnv,
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
  /** Partitions of the entity-updates topic processed at once by this instance. */
  WRITER_CONCURRENCY: Type.Integer({ minimum: 1, default: 3 }),
});
export type WriterConfig = Static<typeof WriterEnv>;

export const loadWriterConfig = (env: Record<string, string | undefined>) =>
  loadConfig('entity-writer', WriterEnv, env, [authEnvProblems]);
