import { httpEnv, KafkaEnv, LogEnv, loadConfig, TracingEnv } from '@hub/config';
import Type, { type Static } from 'typebox';

const Url = Type.String({ pattern: '^https?://' });

export const EdgeEnv = Type.Object({
  ...LogEnv,
  ...TracingEnv,
  ...httpEnv(8080),
  INGEST_GATEWAY_URL: Url,
  CONFIG_SERVICE_URL: Url,
  MAPPER_URL: Url,
  ENTITY_WRITER_URL: Url,
  /** The base URL clients use (servers[0] of /openapi.json). */
  PUBLIC_BASE_URL: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:8080' }),
  /**
   * The brokers subscribers connect to, listed as the server of /asyncapi.json (the edge itself never
   * connects to Kafka); no server is listed when unset.
   */
  KAFKA_BROKERS: Type.Optional(KafkaEnv.KAFKA_BROKERS),
  /** Larger than any service's own limit, so the service answers with its precise message. */
  EDGE_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 32 * 1024 * 1024 }),
  /**
   * What the edge's /readyz says: `upstreams` (default; the local stack and compose wait on it) is ready
   * only when every service behind it is; `self` is ready when the edge itself serves, so an orchestrator
   * keeps every edge in rotation while one service behind it is down (its routes answer 503 meanwhile)
   * instead of taking the whole entry point out (deploy/kubernetes sets it).
   */
  EDGE_READINESS: Type.Union([Type.Literal('upstreams'), Type.Literal('self')], { default: 'upstreams' }),
  /** The built web console served at /console/ (default: web/console/dist of this repository). */
  CONSOLE_DIR: Type.Optional(Type.String({ minLength: 1 })),
});
export type EdgeConfig = Static<typeof EdgeEnv>;

export const loadEdgeConfig = (env: Record<string, string | undefined>) => loadConfig('edge', EdgeEnv, env);
