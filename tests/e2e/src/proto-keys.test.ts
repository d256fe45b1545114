/**
 * A JSON key `__proto__` or `constructor` is an ordinary key wherever the API takes free-form objects (an
 * event's payload object, an integration's settings): accepted, stored and given back as sent, mapped like
 * any other key, and never a prototype (the fuzzer's finding ST202: such bodies were answered 400).
 */
import { apiClient, eventually, orgWithUseCase, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();

describe('keys named __proto__ and constructor', () => {
  it('are kept in an integration’s settings and given back as sent', async () => {
    const api = apiClient(stack.baseUrl, testToken(stack, uniqueName('proto-keys')));
    // Written as text: in an object literal, `__proto__` would set the prototype instead of a key.
    const settings =
      '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},"region":"north"}';
    const created = await api.request<{ id: string }>(
      'POST',
      '/v2/integrations',
      `{"name":"proto keys","settings":${settings}}`,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const read = await api.request<{ settings: unknown }>('GET', `/v2/integrations/${created.body.id}`);
    expect(read.status).toBe(200);
    // JSON.parse (the client's) and JSON.stringify keep such keys as keys: what was sent comes back.
    expect(JSON.stringify(read.body.settings)).toBe(settings);
  });

  it('in an event’s payload object: the event is accepted and its other fields mapped', async () => {
    const { api, integrationId, org } = await orgWithUseCase(stack, 'proto-payload', {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          fields: [
            { attribute: 'customer_number', field: 'id' },
            { attribute: 'first_name', field: 'name' },
          ],
        },
      ],
    });
    const customer = `P-${org.slice(-8)}`;
    const body = `{"integration_id":"${integrationId}","events":[{"event_type":"UPDATE","object_type":"customer","timestamp":"${new Date().toISOString()}","format":"json","payload":{"__proto__":{"name":"from the prototype"},"constructor":{"prototype":{"x":1}},"id":"${customer}","name":"Ada"}}]}`;
    const res = await api.request<{ results: Array<{ status: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      body,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results[0]?.status).toBe('success');
    const entity = await eventually(async () => {
      const found = await api.request<{ results: Array<Record<string, unknown>> }>(
        'GET',
        `/v1/entity/contact?customer_number=${customer}`,
      );
      return found.body.results[0];
    });
    expect(entity.first_name).toBe('Ada');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
