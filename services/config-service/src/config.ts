import {
  AuthEnv,
  httpEnv,
  KafkaEnv,
  LogEnv,
  loadConfig,
  MongoEnv,
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
});
export type ConfigServiceConfig = Static<typeof ConfigServiceEnv>;

export const loadConfigServiceConfig = (env: Record<string, string | undefined>) =>
  loadConfig('config-service', ConfigServiceEnv, env);
