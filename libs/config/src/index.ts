import type { Static, TObject } from 'typebox';
import { Value } from 'typebox/value';

/** Thrown when the environment does not satisfy a service's configuration schema. Lists every problem. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(service: string, problems: readonly string[]) {
    super(`invalid configuration for ${service}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Reads a service's configuration from environment variables.
 *
 * Each property of `schema` is an environment variable name (UPPER_SNAKE_CASE). Values are converted
 * to the declared types (numbers, booleans, comma-separated string arrays), defaults applied, and the
 * result validated. Every problem is reported at once; nothing is half-loaded.
 */
export function loadConfig<S extends TObject>(
  service: string,
  schema: S,
  env: Record<string, string | undefined>,
  /** Rules across variables, checked once the schema holds; each returns its problems. */
  checks: ReadonlyArray<(config: Static<S>) => string[]> = [],
): Static<S> {
  const raw: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    raw[key] = isArraySchema(prop)
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
  }
  const converted = Value.Convert(schema, Value.Default(schema, raw));
  const problems = [...Value.Errors(schema, converted)].map((e) => {
    const key = e.instancePath.replace(/^\//, '').split('/')[0] ?? '';
    if (e.keyword === 'required') {
      const missing = (e.params as { requiredProperties?: string[] }).requiredProperties ?? [];
      return `${missing.join(', ')}: required but not set`;
    }
    const got = isSecret(schema.properties[key]) ? redacted(raw[key]) : JSON.stringify(raw[key]);
    return `${key}: ${e.message} (got ${got})`;
  });
  if (problems.length > 0) throw new ConfigError(service, problems);
  const crossProblems = checks.flatMap((check) => check(converted as Static<S>));
  if (crossProblems.length > 0) throw new ConfigError(service, crossProblems);
  return converted as Static<S>;
}

/** Variables whose schema says `secret: true` (passwords, keys, URLs with credentials) never appear in a message. */
function isSecret(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as { secret?: unknown }).secret === true;
}

function redacted(value: unknown): string {
  return typeof value === 'string'
    ? `a value of ${value.length} characters, not shown`
    : 'a value, not shown';
}

function isArraySchema(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as { type?: unknown }).type === 'array';
}

export {
  AuthEnv,
  authEnvProblems,
  DEVELOPMENT_SECRETS,
  HubEnv,
  httpEnv,
  KafkaEnv,
  kafkaEnvProblems,
  LogEnv,
  MongoEnv,
  mappingSandboxEnv,
  mongoEnvProblems,
  RateLimitEnv,
  TracingEnv,
} from './env.js';
