/**
 * Issue 19 on the real stack: the config-service's per-organisation budgets of simulation time and of
 * configuration republished (ADR 0015, decision 24). A config-service instance with small budgets, against
 * the stack's Kafka and database: an organisation past a budget is answered 429 with a code naming it and
 * `Retry-After`, nothing of a refused change is written, and another organisation is served as before.
 */
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

const configuration = (note: string) => ({
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'id' },
        { attribute: 'note', jsonataExpression: note },
      ],
    },
  ],
});

interface Answer {
  code?: string;
  message?: string;
  entity_updates?: Array<{ attributes: Record<string, unknown> }>;
}
interface V2Integration {
  id: string;
  use_cases: Array<{ id: string; updated_at: string; configuration?: unknown }>;
}

let service: ServiceInstance;
beforeAll(async () => {
  // A port of this stack's own range (npm test, or a developer's HUB_PORT_BASE).
  const port = Number(new URL(stack.baseUrl).port || 80) + 332;
  service = await startInstance(stack, 'config-service', port, {
    CONFIG_SERVICE_ROLE: 'api',
    // One slow simulation (its 2 s deadline) takes an organisation past 100 ms per minute.
    SIMULATION_ORG_BUDGET_MS: '100',
    SIMULATION_MAX_WAIT_MS: '500',
    // The first change of an organisation goes; the next would wait minutes for 1 KiB per minute.
    CONFIGURATION_REPUBLISH_BYTES_PER_MINUTE: '1024',
    CONFIGURATION_REPUBLISH_BURST_BYTES: '0',
    CONFIGURATION_CHANGE_MAX_WAIT_MS: '1000',
  });
}, 90_000);
afterAll(killInstances);

describe("an organisation's budgets at the config-service", () => {
  it('refuses simulations past the organisation’s simulation time with 429 and Retry-After; another organisation is served', async () => {
    const simulate = (org: string, note: string, payload: Record<string, unknown>) =>
      apiClient(service.base, testToken(stack, org, ['integration:view'])).request<Answer>(
        'POST',
        '/v2/erp/updates/mapping_simulation',
        { event_configuration: configuration(note), format: 'json', payload },
      );
    const noisy = uniqueName('sim-noisy');
    const slow = await simulate(noisy, '$match(text, /(a+)+$/)', { id: '1', text: `${'a'.repeat(40)}!` });
    expect(slow.status).toBe(422);
    expect(slow.body.code).toBe('MAPPING_BUDGET_EXCEEDED');

    const refused = await apiClient(
      service.base,
      testToken(stack, noisy, ['integration:view']),
    ).request<Answer>('POST', '/v2/erp/updates/mapping_simulation', {
      event_configuration: configuration('$uppercase(name)'),
      format: 'json',
      payload: { id: '2', name: 'ada' },
    });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('SIMULATION_BUDGET_EXCEEDED');
    expect(refused.body.message).toMatch(
      /^this organisation's simulations used \d+ ms of running time not paid back yet, over its budget of 100 ms per 60 s \(paid back at that rate\); this one waited 500 ms and was not started: retry after \d+ s$/,
    );
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    const other = await simulate(uniqueName('sim-quiet'), '$uppercase(name)', { id: '3', name: 'grace' });
    expect(other.status).toBe(200);
    expect(other.body.entity_updates?.[0]?.attributes.note).toBe('GRACE');
  });

  it('refuses a configuration change past the organisation’s bytes republished with 429 and Retry-After, writing nothing; another organisation and a deletion go through', async () => {
    const create = (api: ReturnType<typeof apiClient>) =>
      api.request<V2Integration>('POST', '/v2/integrations', {
        name: 'budgeted',
        use_cases: [
          { name: 'Sync', type: 'inbound', enabled: true, configuration: configuration('$uppercase(name)') },
        ],
      });
    const noisy = apiClient(service.base, testToken(stack, uniqueName('rate-noisy')));
    const created = await create(noisy);
    expect(created.status).toBe(201);
    const useCase = created.body.use_cases[0]!;
    const path = `/v1/integrations/${created.body.id}/use-cases/${useCase.id}`;

    const changed = await noisy.request<Answer>('PUT', path, {
      configuration: configuration('$lowercase(name)'),
    });
    expect(changed.status).toBe(429);
    expect(changed.body.code).toBe('CONFIGURATION_RATE_EXCEEDED');
    expect(changed.body.message).toMatch(
      /^this organisation's configuration changes republished more than its budget of 1024 bytes of integration snapshots per minute \(0 at once; every change republishes its integration whole to every gateway and mapper\): the next change may go in \d+ s/,
    );
    expect(Number(changed.headers.get('retry-after'))).toBeGreaterThan(1);
    // Nothing of it was written.
    const stored = await noisy.request<{ updated_at: string; configuration: unknown }>('GET', path);
    expect(stored.body.updated_at).toBe(useCase.updated_at);
    expect(stored.body.configuration).toEqual(configuration('$uppercase(name)'));

    // Another organisation's first change goes; the noisy one may still tidy up.
    expect((await create(apiClient(service.base, testToken(stack, uniqueName('rate-quiet'))))).status).toBe(
      201,
    );
    expect((await noisy.request('DELETE', path)).status).toBe(200);
  });
});
