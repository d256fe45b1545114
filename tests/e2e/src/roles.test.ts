/**
 * Issue 12, item 3 on the real stack: the entity-writer's read API and its consumer, and the
 * config-service's API and its monitoring sink, run as separate processes of the same build (a role
 * setting). An API instance serves and never joins the consumer group; a consumer/sink instance joins it,
 * serves no API, and stops cleanly on SIGTERM.
 */
import { KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import {
  apiClient,
  killInstances,
  resolveStack,
  type ServiceInstance,
  startInstance,
  testToken,
  uniqueName,
} from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
let kafka: KafkaClient;

beforeAll(() => {
  kafka = new KafkaClient({
    clientId: 'roles-test',
    brokers: stack.kafkaBrokers,
    logger: createLogger({ service: 'test', level: 'warn' }),
  });
});
afterAll(killInstances);

const instance = (service: string, port: number, env: Record<string, string>): Promise<ServiceInstance> =>
  startInstance(stack, service, port, env);

async function members(groupId: string): Promise<number> {
  const admin = await kafka.admin();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.members.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

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
    expect(await consumer.stop()).toBe(0);
    expect(await api.stop()).toBe(0);
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
    expect(await sink.stop()).toBe(0);
    expect(await api.stop()).toBe(0);
  });
});
