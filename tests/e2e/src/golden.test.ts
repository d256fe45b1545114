/**
 * Golden tests: for each feature of MAPPING.md, the simulation of a payload (the engine, called
 * directly) and what the real pipeline stores for the same event (gateway -> Kafka -> mapper ->
 * entity-writer -> FerretDB, read back through the API) must both be exactly as stated, and agree.
 */
import { simulate } from '@hub/mapping';
import { apiClient, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';
import { CASES } from './golden/index.js';
import { expectAgreement, type Ids, settle } from './golden-harness.js';

const stack = resolveStack();

const EMPTY = {
  entity_updates: [],
  meter_readings_updates: [],
  prune_scope_updates: [],
  meter_readings_prune_scope_updates: [],
  warnings: [],
};

describe('golden: simulation and stored result agree', () => {
  it.each(CASES)('$name', async ({ configuration, steps }) => {
    const api = apiClient(stack.baseUrl, testToken(stack, uniqueName('golden')));
    const created = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'golden',
      use_cases: [{ name: 'golden', type: 'inbound', enabled: true, configuration }],
    });
    expect(created.status).toBe(201);
    let ids: Ids = {};
    for (const [index, step] of steps.entries()) {
      const payload = typeof step.payload === 'function' ? step.payload(ids) : step.payload;
      const expected = typeof step.simulation === 'function' ? step.simulation(ids) : step.simulation;
      const simulation = await simulate(configuration, payload);
      expect(simulation.failures, `step ${index + 1}: mapping failures`).toEqual([]);
      expect(simulation.response, `step ${index + 1}: simulation`).toEqual({ ...EMPTY, ...expected });

      const posted = await api.request<{ results: Array<{ status: string; message?: string }> }>(
        'POST',
        '/v2/erp/updates/events',
        {
          integration_id: created.body.id,
          events: [
            {
              event_type: 'UPDATE',
              object_type: 'golden',
              timestamp: new Date().toISOString(),
              format: 'json',
              deduplication_id: `golden-step-${index}`,
              payload,
            },
          ],
        },
      );
      expect(posted.body.results.map((r) => r.status)).toEqual(['success']);
      const stored = await settle(api, step.stored);
      expectAgreement(simulation.response, stored);
      ids = stored.ids;
    }
  });
});
