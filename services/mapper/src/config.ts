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
  ...mappingSandboxEnv({ deadlineMs: 5_000, workers: 2 }),
  CONFIG_CATCHUP_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
});
export type MapperConfig = Static<typeof MapperEnv>;

export const loadMapperConfig = (env: Record<string, string | undefined>) =>
  loadConfig('mapper', MapperEnv, env, [kafkaEnvProblems]);
