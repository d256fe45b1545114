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

export const GatewayEnv = Type.Object({
  ...LogEnv,
  ...TracingEnv,
  ...httpEnv(8081),
  ...KafkaEnv,
  ...MongoEnv,
  ...AuthEnv,
  ...RateLimitEnv,
  /** Decision 8 limits. */
  /** At most 32⁴: the events a request numbers in its event ids (libs/event-store, ADR 18). */
  MAX_EVENTS_PER_REQUEST: Type.Integer({ minimum: 1, maximum: 1_048_576, default: 1000 }),
  MAX_BODY_BYTES: Type.Integer({ minimum: 1024, default: 10 * 1024 * 1024 }),
  MAX_PAYLOAD_BYTES: Type.Integer({ minimum: 2, default: 1024 * 1024 }),
  /**
   * How long a request waits for the config topic to catch up before it fails with 503. Longer than a
   * cluster takes to move a lost broker's leaderships (broker.session.timeout.ms, 9 s by default), so a
   * single broker's loss delays requests instead of failing them.
   */
  CONFIG_CATCHUP_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 15_000 }),
  DEDUPE_WINDOW_HOURS: Type.Number({ exclusiveMinimum: 0, default: 24 }),
  /** How long received events stay queryable and replayable. */
  EVENT_RETENTION_DAYS: Type.Integer({ minimum: 1, default: 30 }),
});
export type GatewayConfig = Static<typeof GatewayEnv>;

export const loadGatewayConfig = (env: Record<string, string | undefined>) =>
  loadConfig('ingest-gateway', GatewayEnv, env, [authEnvProblems, kafkaEnvProblems, mongoEnvProblems]);
