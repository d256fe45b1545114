import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_AUDIENCE, GRANTS, signToken } from '@hub/http';

export interface StackEndpoints {
  /** The edge: the public API's base URL. */
  baseUrl: string;
  kafkaBrokers: string[];
  mongoUrl: string;
  authSecret: string;
  authIssuer: string;
  authAudience: string;
  /** The broker's SASL_SSL and the database's TLS listeners of the local stack (deploy/local/stack.mjs). */
  secure: {
    kafkaBrokers: string[];
    username: string;
    password: string;
    mongoUrl: string;
    caFile: string;
  };
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The local stack's configuration (deploy/local/dev.env). */
export function devEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const text = readFileSync(path.join(repoRoot, 'deploy/local/dev.env'), 'utf8');
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!.trim();
  }
  return env;
}

/**
 * Where the tests find the stack. One interface, chosen automatically:
 * 1. the environment (`HUB_BASE_URL`, `KAFKA_BROKERS`, `MONGO_URL`, `AUTH_JWT_*`), as `npm test` sets it;
 * 2. otherwise the local stack's defaults (deploy/local/dev.env), e.g. under `npm start`.
 * Docker users run the same tests against `docker compose up` by exporting the same variables.
 */
export function resolveStack(env: Record<string, string | undefined> = process.env): StackEndpoints {
  const local = devEnv();
  const pick = (key: string) => env[key] ?? local[key];
  return {
    baseUrl: env.HUB_BASE_URL ?? 'http://127.0.0.1:8080',
    kafkaBrokers: (pick('KAFKA_BROKERS') ?? '127.0.0.1:9092').split(','),
    mongoUrl: pick('MONGO_URL') ?? 'mongodb://127.0.0.1:27017/erp_hub',
    authSecret: pick('AUTH_JWT_SECRET') ?? '',
    authIssuer: pick('AUTH_JWT_ISSUER') ?? '',
    authAudience: pick('AUTH_JWT_AUDIENCE') ?? DEFAULT_AUDIENCE,
    // npm test sets these (scripts/lib/services.mjs); the defaults are those of the local stack's ports.
    secure: {
      kafkaBrokers: (env.LOCAL_KAFKA_SECURE_BROKERS ?? '127.0.0.1:9094').split(','),
      username: env.LOCAL_KAFKA_SASL_USERNAME ?? 'hub',
      password: env.LOCAL_KAFKA_SASL_PASSWORD ?? 'local-development-kafka-password',
      mongoUrl: env.LOCAL_MONGO_TLS_URL ?? 'mongodb://127.0.0.1:27018/erp_hub?tls=true',
      caFile: env.LOCAL_TLS_CA_FILE ?? path.join(repoRoot, '.local/tls/ca.pem'),
    },
  };
}

/** A token for a (usually fresh) organisation, with both grants unless told otherwise. */
export function testToken(
  stack: StackEndpoints,
  orgId: string,
  grants: string[] = [GRANTS.view, GRANTS.manage],
): string {
  return signToken({
    secret: stack.authSecret,
    issuer: stack.authIssuer,
    audience: stack.authAudience,
    orgId,
    grants,
    expiresInSeconds: 3600,
  });
}

/** A name no other test (or earlier run) uses: organisations, topics, groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
