import { accessSync, constants } from 'node:fs';
import Type from 'typebox';

/** Configuration fragments shared by the services; each service composes its schema from these. */

export const LogEnv = {
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    {
      default: 'info',
    },
  ),
};

/**
 * OpenTelemetry: spans are exported over OTLP/HTTP to this collector (base URL, e.g.
 * `http://otel-collector:4318`, or a full `…/v1/traces` URL) when set; nothing is exported when unset.
 */
export const TracingEnv = {
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
};

export const httpEnv = (defaultPort: number) => ({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort }),
  /** Hard limit for the ordered shutdown. */
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 15_000 }),
});

export const KafkaEnv = {
  KAFKA_BROKERS: Type.Array(Type.String({ pattern: '^[^:\\s]+:\\d+$' }), { minItems: 1 }),
  /** Partitions of the topics a service creates when they are missing. */
  KAFKA_TOPIC_PARTITIONS: Type.Integer({ minimum: 1, default: 6 }),
  /**
   * At boot: `create` the missing topics (local stack, compose), or only `check` them against the plan and
   * refuse to start, listing the differences (production: `npm run topics -- --apply` provisions them).
   */
  KAFKA_TOPICS: Type.Union([Type.Literal('create'), Type.Literal('check')], { default: 'create' }),
  /** Replication of the topics (unset: the broker's default) and `min.insync.replicas` they must have. */
  KAFKA_REPLICATION_FACTOR: Type.Optional(Type.Integer({ minimum: 1 })),
  KAFKA_MIN_INSYNC_REPLICAS: Type.Optional(Type.Integer({ minimum: 1 })),
  /**
   * Compression of produced batches. Off by default: measured on the local stack, gzip saved the broker
   * 0.12 ms of CPU per event and cost the services 0.3 ms (docs/adr/0009).
   */
  KAFKA_COMPRESSION: Type.Union([Type.Literal('none'), Type.Literal('gzip')], { default: 'none' }),
  /**
   * TLS to the brokers (a managed Kafka's SASL_SSL listener). The CA file is needed only when the brokers'
   * certificates are not signed by a public CA; the certificate and key files only for mutual TLS.
   */
  KAFKA_SSL: Type.Boolean({ default: false }),
  KAFKA_SSL_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  KAFKA_SSL_CERT_FILE: Type.Optional(Type.String({ minLength: 1 })),
  KAFKA_SSL_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  /** Only to try a broker with a self-signed certificate: `false` accepts any certificate. */
  KAFKA_SSL_REJECT_UNAUTHORIZED: Type.Boolean({ default: true }),
  /** SASL authentication: PLAIN (e.g. Confluent Cloud API keys) or SCRAM (e.g. Amazon MSK, Aiven). */
  KAFKA_SASL_MECHANISM: Type.Optional(
    Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')]),
  ),
  KAFKA_SASL_USERNAME: Type.Optional(Type.String({ minLength: 1 })),
  KAFKA_SASL_PASSWORD: Type.Optional(Type.String({ minLength: 1, secret: true })),
};

interface KafkaSecurityValues {
  KAFKA_SSL: boolean;
  KAFKA_SSL_CA_FILE?: string | undefined;
  KAFKA_SSL_CERT_FILE?: string | undefined;
  KAFKA_SSL_KEY_FILE?: string | undefined;
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
}

/**
 * The rules across KafkaEnv's security variables: files that exist, a certificate with its key, SASL with a
 * user and a password, and no PLAIN password sent in clear text (PLAIN without TLS).
 */
export function kafkaEnvProblems(config: KafkaSecurityValues): string[] {
  const problems = readableFiles(config, ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE']);
  const tlsFiles = (['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const).filter(
    (k) => config[k] !== undefined,
  );
  if (!config.KAFKA_SSL && tlsFiles.length > 0) {
    problems.push(`${tlsFiles.join(', ')}: set, but KAFKA_SSL is not true (the files would not be used)`);
  }
  if ((config.KAFKA_SSL_CERT_FILE === undefined) !== (config.KAFKA_SSL_KEY_FILE === undefined)) {
    problems.push(
      'KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE: mutual TLS needs both the certificate and its key',
    );
  }
  const credentials = (['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const).filter(
    (k) => config[k] !== undefined,
  );
  if (config.KAFKA_SASL_MECHANISM === undefined && credentials.length > 0) {
    problems.push(
      `${credentials.join(', ')}: set, but KAFKA_SASL_MECHANISM is not (plain, scram-sha-256 or scram-sha-512)`,
    );
  }
  if (config.KAFKA_SASL_MECHANISM !== undefined && credentials.length < 2) {
    problems.push(
      `KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM} needs both`,
    );
  }
  if (config.KAFKA_SASL_MECHANISM === 'plain' && !config.KAFKA_SSL) {
    problems.push(
      'KAFKA_SASL_MECHANISM: plain without KAFKA_SSL=true would send the password in clear text; use TLS or SCRAM',
    );
  }
  return problems;
}

/**
 * `development` only on a developer's machine: there, the shipped development secret is accepted. In
 * `production` (the default) a service also refuses a database that cannot keep writes across a failover.
 */
export const HubEnv = Type.Union([Type.Literal('production'), Type.Literal('development')], {
  default: 'production',
});

/**
 * MongoDB: the URL carries the credentials and the options (`mongodb+srv://user:password@cluster/db` for
 * Atlas, `?tls=true`...); a private CA and a client certificate (PEM with its key) can be given as files.
 */
export const MongoEnv = {
  MONGO_URL: Type.String({ pattern: '^mongodb(\\+srv)?://', secret: true }),
  MONGO_TLS_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  MONGO_TLS_CERT_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * With HUB_ENV=production a service refuses to start on a MongoDB that cannot keep an acknowledged
   * write across a failover: a standalone server, or a write concern below majority set by MONGO_URL
   * (docs/adr/0013). `true` accepts that risk (a test system on one mongod, say). FerretDB is never refused.
   */
  MONGO_ALLOW_WEAK_DURABILITY: Type.Boolean({ default: false }),
  HUB_ENV: HubEnv,
  /**
   * At boot: `apply` the database layout to the service's collections (local stack, compose), or only
   * `check` it and refuse to start, naming each difference (production: `npm run db -- --apply`, the
   * layout Job, makes it; docs/production-mongodb.md).
   */
  DB_LAYOUT: Type.Union([Type.Literal('apply'), Type.Literal('check')], { default: 'apply' }),
};

/** MongoEnv's files exist and can be read. */
export function mongoEnvProblems(config: {
  MONGO_TLS_CA_FILE?: string | undefined;
  MONGO_TLS_CERT_KEY_FILE?: string | undefined;
}): string[] {
  return readableFiles(config, ['MONGO_TLS_CA_FILE', 'MONGO_TLS_CERT_KEY_FILE']);
}

function readableFiles<K extends string>(config: Partial<Record<K, unknown>>, keys: readonly K[]): string[] {
  const problems: string[] = [];
  for (const key of keys) {
    const file = config[key];
    if (typeof file !== 'string') continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      problems.push(`${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return problems;
}

/**
 * Bearer tokens (decision 1 of API_SCOPE.md). Exactly one key source: an HS256 shared secret, a PEM public
 * key file (RS256/ES256...), or a JWKS URL (keys chosen by the token's `kid`). Every token must carry
 * `exp`, `iss` (= AUTH_JWT_ISSUER) and `aud` (containing AUTH_JWT_AUDIENCE).
 */
export const AuthEnv = {
  HUB_ENV: HubEnv,
  AUTH_JWT_SECRET: Type.Optional(Type.String({ minLength: 32, secret: true })),
  AUTH_JWT_PUBLIC_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  AUTH_JWT_ISSUER: Type.String({ minLength: 1 }),
  AUTH_JWT_AUDIENCE: Type.String({ minLength: 1, default: 'erp-integration-hub' }),
  /**
   * The longest a token may still be valid: one whose `exp` lies further ahead is refused (401), so a
   * leaked long-lived token is no master key. Default 24 h.
   */
  AUTH_JWT_MAX_LIFETIME_SECONDS: Type.Integer({ minimum: 60, default: 86_400 }),
};

/** Secrets shipped in this repository (deploy/local/dev.env, docker-compose.yml): never valid in production. */
export const DEVELOPMENT_SECRETS: readonly string[] = ['local-development-secret-change-me-0123456789'];

interface AuthEnvValues {
  HUB_ENV: 'production' | 'development';
  AUTH_JWT_SECRET?: string | undefined;
  AUTH_JWT_PUBLIC_KEY_FILE?: string | undefined;
  AUTH_JWT_JWKS_URL?: string | undefined;
}

/** http:// to this machine only (a key server beside the service, as in tests). */
const LOOPBACK_HTTP = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/i;

/** The rules across AuthEnv's variables: one key source, and no development secret outside development. */
export function authEnvProblems(config: AuthEnvValues): string[] {
  const sources = (['AUTH_JWT_SECRET', 'AUTH_JWT_PUBLIC_KEY_FILE', 'AUTH_JWT_JWKS_URL'] as const).filter(
    (k) => config[k] !== undefined,
  );
  const problems: string[] = [];
  if (sources.length !== 1) {
    problems.push(
      `AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE, AUTH_JWT_JWKS_URL: set exactly one token key source (got ${sources.length === 0 ? 'none' : sources.join(' and ')})`,
    );
  }
  const jwks = config.AUTH_JWT_JWKS_URL;
  if (jwks !== undefined && !/^https:\/\//i.test(jwks) && !LOOPBACK_HTTP.test(jwks)) {
    problems.push(
      'AUTH_JWT_JWKS_URL: must be an https:// URL (keys fetched over plain http can be replaced on the way, and with them every token); http:// is accepted for a loopback address only',
    );
  }
  const secret = config.AUTH_JWT_SECRET;
  if (secret !== undefined && config.HUB_ENV !== 'development' && DEVELOPMENT_SECRETS.includes(secret)) {
    problems.push(
      'AUTH_JWT_SECRET: is the development secret shipped with this repository; set a secret of your own (at least 32 random characters) or a public key, or HUB_ENV=development on a developer machine',
    );
  }
  return problems;
}

/**
 * The mapping sandbox (libs/mapping): payloads are parsed and mapped in worker threads, each job under a
 * hard deadline and each worker under a heap cap, so no configuration can stall or crash the service.
 */
export const mappingSandboxEnv = (defaults: { deadlineMs: number; workers: number }) => ({
  /** Time budget of one JSONata evaluation (checked by jsonata between nodes). */
  EXPRESSION_TIMEOUT_MS: Type.Integer({ minimum: 10, default: 500 }),
  /** Hard limit for parsing and mapping one event (one simulation): past it the worker is stopped. */
  MAPPING_DEADLINE_MS: Type.Integer({ minimum: 100, default: defaults.deadlineMs }),
  /** Heap of each mapping worker in MB. */
  MAPPING_MEMORY_MB: Type.Integer({ minimum: 32, default: 256 }),
  /** Mapping worker processes. */
  MAPPING_WORKERS: Type.Integer({ minimum: 1, maximum: 64, default: defaults.workers }),
  /**
   * How much lower the CPU priority of a mapping worker whose job has run MAPPING_NICE_AFTER_MS is than its
   * service's (added to its nice value, up to 19; ADR 0015, decision 18): a runaway expression yields the
   * CPU to the services, the broker, the database and the quick mappings (0: never lowered). The worker is
   * replaced once that job ends (a priority cannot be raised again).
   */
  MAPPING_WORKER_NICE: Type.Integer({ minimum: 0, maximum: 19, default: 10 }),
  MAPPING_NICE_AFTER_MS: Type.Integer({ minimum: 10, default: 200 }),
  /** Largest entity update (meter reading, prune scope) one event may map to, in bytes of JSON (4 MiB). */
  MAPPING_MAX_UPDATE_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 16 * 1024 * 1024,
    default: 4 * 1024 * 1024,
  }),
  /** Largest mapping output of one event, all its updates together, in bytes of JSON (16 MiB). */
  MAPPING_MAX_EVENT_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 24 * 1024 * 1024,
    default: 16 * 1024 * 1024,
  }),
});

/** Decision 8: requests per organisation per minute, across every instance and service. */
export const RateLimitEnv = {
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 1000 }),
};
