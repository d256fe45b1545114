/**
 * Issue 12, item 3 on the real stack: the entity-writer's read API and its consumer, and the
 * config-service's API and its monitoring sink, run as separate processes of the same build (a role
 * setting). An API instance serves and never joins the consumer group; a consumer/sink instance joins it,
 * serves no API, and stops cleanly on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { apiClient, devEnv, eventually, resolveStack, testToken, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const children: ChildProcess[] = [];
let kafka: KafkaClient;

beforeAll(() => {
  kafka = new KafkaClient({
    clientId: 'roles-test',
    brokers: stack.kafkaBrokers,
    logger: createLogger({ service: 'test', level: 'warn' }),
  });
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** One more instance of a service (its built dist), with the test stack's configuration and a role. */
async function instance(service: string, port: number, env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(repo, 'services', service, 'dist/main.js')], {
    env: {
      ...devEnv(),
      ...process.env,
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      MONGO_URL: stack.mongoUrl,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk) => (output = (output + chunk).slice(-2_000)));
  const base = `http://127.0.0.1:${port}`;
  const ready = await eventually(
    async () => {
      const res = await fetch(`${base}/readyz`).catch(() => undefined);
      return res?.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
    },
    60_000,
    `${service} on ${port} ready (its last output: ${output})`,
  );
  return { child, base, ready };
}

async function members(groupId: string): Promise<number> {
  const admin = await kafka.admin();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.members.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

const stopped = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

describe('separable roles', () => {
  it('runs the entity read API without the consumer, and the consumer without the API', async () => {
    const org = uniqueName('roles');
    const token = testToken(stack, org);
    const before = await members('entity-writer');
    const api = await instance('entity-writer', 24084, { WRITER_ROLE: 'api' });
    expect(api.ready).not.toHaveProperty('consumer');
    const read = await apiClient(api.base, token).request<{ results: unknown[] }>(
      'GET',
      '/v1/entity/contact',
    );
    expect(read.status).toBe(200);
    expect(read.body.results).toEqual([]);
    await new Promise((r) => setTimeout(r, 3_000)); // a joining member would show by now
    expect(await members('entity-writer')).toBe(before);

    const consumer = await instance('entity-writer', 24184, { WRITER_ROLE: 'consumer' });
    expect(consumer.ready).toMatchObject({ consumer: true });
    expect((await apiClient(consumer.base, token).request('GET', '/v1/entity/contact')).status).toBe(404);
    expect(await members('entity-writer')).toBe(before + 1);
    expect(await stopped(consumer.child)).toBe(0);
    expect(await stopped(api.child)).toBe(0);
  });

  it('runs the configuration API without the monitoring sink, and the sink without the API', async () => {
    const token = testToken(stack, uniqueName('roles'));
    const group = 'config-service-monitoring';
    const before = await members(group);
    const api = await instance('config-service', 24082, { CONFIG_SERVICE_ROLE: 'api' });
    expect(api.ready).not.toHaveProperty('monitoringSink');
    const list = await apiClient(api.base, token).request<{ integrations: unknown[] }>(
      'GET',
      '/v2/integrations',
    );
    expect(list.status).toBe(200);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await members(group)).toBe(before);

    const sink = await instance('config-service', 24182, { CONFIG_SERVICE_ROLE: 'sink' });
    expect(sink.ready).toMatchObject({ monitoringSink: true });
    expect((await apiClient(sink.base, token).request('GET', '/v2/integrations')).status).toBe(404);
    expect(await members(group)).toBe(before + 1);
    expect(await stopped(sink.child)).toBe(0);
    expect(await stopped(api.child)).toBe(0);
  });
});
