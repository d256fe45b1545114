import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { AuthEnv, authEnvProblems, ConfigError, DEVELOPMENT_SECRETS, loadConfig, MongoEnv } from './index.js';

const Schema = Type.Object({
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8080 }),
  KAFKA_BROKERS: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  MONGO_URL: Type.String({ pattern: '^mongodb://' }),
  DEBUG: Type.Boolean({ default: false }),
});

describe('loadConfig', () => {
  it('converts types, splits lists and applies defaults', () => {
    const config = loadConfig('svc', Schema, {
      KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
      MONGO_URL: 'mongodb://127.0.0.1:27017/hub',
      DEBUG: 'true',
    });
    expect(config).toEqual({
      PORT: 8080,
      KAFKA_BROKERS: ['127.0.0.1:9092', '127.0.0.1:9093'],
      MONGO_URL: 'mongodb://127.0.0.1:27017/hub',
      DEBUG: true,
    });
  });

  it('reports every problem at once, naming each variable', () => {
    let error: unknown;
    try {
      loadConfig('svc', Schema, { PORT: 'eighty', MONGO_URL: 'postgres://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('KAFKA_BROKERS');
    expect(problems).toContain('PORT');
    expect(problems).toContain('MONGO_URL');
    expect((error as ConfigError).message).toContain('invalid configuration for svc');
  });
});

describe('token settings (AuthEnv)', () => {
  const AuthSchema = Type.Object({ ...AuthEnv });
  const load = (env: Record<string, string>) => loadConfig('svc', AuthSchema, env, [authEnvProblems]);
  const problemsOf = (env: Record<string, string>) => {
    try {
      load(env);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };

  it('refuses the development secret shipped with the repository unless HUB_ENV=development', () => {
    const env = { AUTH_JWT_SECRET: DEVELOPMENT_SECRETS[0] ?? '', AUTH_JWT_ISSUER: 'hub' };
    expect(problemsOf(env).join()).toMatch(/AUTH_JWT_SECRET: is the development secret shipped/);
    expect(load({ ...env, HUB_ENV: 'development' }).AUTH_JWT_AUDIENCE).toBe('erp-integration-hub');
    expect(load({ ...env, AUTH_JWT_SECRET: 'x'.repeat(40) }).HUB_ENV).toBe('production');
  });

  it('asks for exactly one key source', () => {
    expect(problemsOf({ AUTH_JWT_ISSUER: 'hub' }).join()).toMatch(
      /set exactly one token key source \(got none\)/,
    );
    expect(
      problemsOf({
        AUTH_JWT_ISSUER: 'hub',
        AUTH_JWT_SECRET: 'x'.repeat(40),
        AUTH_JWT_JWKS_URL: 'https://idp.example/jwks.json',
      }).join(),
    ).toMatch(/got AUTH_JWT_SECRET and AUTH_JWT_JWKS_URL/);
    expect(load({ AUTH_JWT_ISSUER: 'hub', AUTH_JWT_PUBLIC_KEY_FILE: '/etc/hub/jwt.pem' })).toMatchObject({
      AUTH_JWT_PUBLIC_KEY_FILE: '/etc/hub/jwt.pem',
    });
  });

  it('takes a key set over https, or over http from this machine only', () => {
    const jwks = (url: string) => problemsOf({ AUTH_JWT_ISSUER: 'hub', AUTH_JWT_JWKS_URL: url }).join();
    expect(jwks('https://idp.example/jwks.json')).toBe('');
    expect(jwks('http://127.0.0.1:8443/jwks.json')).toBe('');
    expect(jwks('http://localhost/jwks.json')).toBe('');
    expect(jwks('http://idp.example/jwks.json')).toMatch(/AUTH_JWT_JWKS_URL: must be an https:\/\/ URL/);
    expect(jwks('http://127.0.0.1.attacker.example/jwks.json')).toMatch(/must be an https/);
  });

  it('never repeats a secret it refuses, only its length', () => {
    const problems = problemsOf({ AUTH_JWT_ISSUER: 'hub', AUTH_JWT_SECRET: 'short-but-secret' }).join('\n');
    expect(problems).toContain('AUTH_JWT_SECRET: ');
    expect(problems).toContain('a value of 16 characters, not shown');
    expect(problems).not.toContain('short-but-secret');
  });
});

describe('database settings (MongoEnv)', () => {
  const MongoSchema = Type.Object({ ...MongoEnv });
  const url = 'mongodb://db-0.db:27017,db-1.db:27017/hub?replicaSet=rs0';

  it('is production and strict about durability unless told otherwise', () => {
    expect(loadConfig('svc', MongoSchema, { MONGO_URL: url })).toMatchObject({
      HUB_ENV: 'production',
      MONGO_ALLOW_WEAK_DURABILITY: false,
    });
    expect(
      loadConfig('svc', MongoSchema, { MONGO_URL: url, MONGO_ALLOW_WEAK_DURABILITY: 'true' })
        .MONGO_ALLOW_WEAK_DURABILITY,
    ).toBe(true);
  });

  it('names MONGO_ALLOW_WEAK_DURABILITY when its value is not a boolean', () => {
    expect(() =>
      loadConfig('svc', MongoSchema, { MONGO_URL: url, MONGO_ALLOW_WEAK_DURABILITY: 'maybe' }),
    ).toThrow(/MONGO_ALLOW_WEAK_DURABILITY/);
  });
});
