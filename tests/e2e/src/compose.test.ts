import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { authEnvProblems, loadConfig } from '@hub/config';
import { ConfigServiceEnv } from '@hub/config-service/config';
import { EdgeEnv } from '@hub/edge/config';
import { WriterEnv } from '@hub/entity-writer/config';
import { GatewayEnv } from '@hub/ingest-gateway/config';
import { MapperEnv } from '@hub/mapper/config';
import type { TObject } from 'typebox';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    { build?: { dockerfile: string }; environment?: Record<string, string>; image?: string }
  >;
};

const schemas: Record<string, TObject> = {
  'config-service': ConfigServiceEnv,
  'ingest-gateway': GatewayEnv,
  mapper: MapperEnv,
  'entity-writer': WriterEnv,
  edge: EdgeEnv,
};

// docker-compose.yml cannot run here (no Docker engine); this checks what would fail at boot.
describe('docker-compose.yml', () => {
  it('names the real Kafka and MongoDB images and a build of every service (the file is parsed, not run)', () => {
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:/);
    expect(compose.services.mongo?.image).toMatch(/^mongo:/);
    for (const name of Object.keys(schemas)) {
      expect(compose.services[name]?.build?.dockerfile, name).toBe(`services/${name}/Dockerfile`);
    }
  });

  it.each(Object.entries(schemas))('gives %s a configuration its schema accepts', (name, schema) => {
    // Compose's own interpolation with nothing exported: `${VAR:-default}` is the default.
    const env = Object.fromEntries(
      Object.entries(compose.services[name]?.environment ?? {}).map(([k, v]) => [
        k,
        String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1'),
      ]),
    );
    const properties = schema.properties as Record<string, { default?: unknown }>;
    const required = ((schema.required ?? []) as string[]).filter(
      (k) => properties[k]?.default === undefined,
    );
    expect(required.length).toBeGreaterThan(0);
    for (const key of required) expect(env, `${name} needs ${key}`).toHaveProperty(key);
    const checks =
      'HUB_ENV' in properties ? [(c: Record<string, unknown>) => authEnvProblems(c as never)] : [];
    expect(() => loadConfig(name, schema, env, checks)).not.toThrow();
  });

  it('points the edge at every service and brokers/databases at the compose hosts', () => {
    const edge = compose.services.edge!.environment!;
    for (const name of ['ingest-gateway', 'config-service', 'mapper', 'entity-writer']) {
      expect(Object.values(edge)).toContain(`http://${name}:8080`);
    }
    expect(compose.services['entity-writer']!.environment!.KAFKA_BROKERS).toBe('kafka:9092');
    expect(compose.services['entity-writer']!.environment!.MONGO_URL).toMatch(/^mongodb:\/\/mongo:27017\//);
  });

  it('builds each service in a multi-stage Dockerfile that runs as a non-root user', () => {
    for (const name of Object.keys(schemas)) {
      const dockerfile = readFileSync(path.join(repoRoot, `services/${name}/Dockerfile`), 'utf8');
      expect(dockerfile.match(/^FROM /gm)?.length, name).toBeGreaterThanOrEqual(2);
      expect(dockerfile).toMatch(/^USER node$/m);
      expect(dockerfile).toContain(`services/${name}/dist/main.js`);
    }
  });

  it('restarts every service and the infrastructure, and starts each only when what it needs is healthy', () => {
    const services = compose.services as Record<
      string,
      {
        restart?: string;
        healthcheck?: { test?: unknown };
        depends_on?: Record<string, { condition?: string }>;
      }
    >;
    for (const name of [...Object.keys(schemas), 'kafka', 'mongo']) {
      expect(services[name]?.restart, name).toBe('unless-stopped');
      expect(services[name]?.healthcheck?.test, name).toBeTruthy();
    }
    for (const name of Object.keys(schemas)) {
      const needs = Object.entries(services[name]?.depends_on ?? {});
      expect(needs.length, name).toBeGreaterThan(0);
      for (const [dependency, how] of needs)
        expect(how.condition, `${name} -> ${dependency}`).toBe('service_healthy');
    }
  });

  it('runs the Kafka version the local stack tests, and services on the current Node LTS', () => {
    const pom = readFileSync(path.join(repoRoot, 'deploy/local/kafka/pom.xml'), 'utf8');
    const version = /<kafka\.version>([^<]+)</.exec(pom)?.[1];
    expect(compose.services.kafka?.image).toBe(`apache/kafka:${version}`);
    for (const name of Object.keys(schemas)) {
      const dockerfile = readFileSync(path.join(repoRoot, `services/${name}/Dockerfile`), 'utf8');
      expect(dockerfile.match(/^FROM node:(\d+)/gm), name).toEqual(['FROM node:26', 'FROM node:26']);
    }
  });
});
