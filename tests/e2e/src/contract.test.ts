import { randomUUID } from 'node:crypto';
import { apiClient, eventually, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';
import { contractErrors } from './contract.js';

const stack = resolveStack();

/** Calls an operation and asserts the response matches the reference's schema for its status. */
function contractClient(token: string) {
  const api = apiClient(stack.baseUrl, token);
  const seen = new Set<string>();
  return {
    seen,
    async call<T = Record<string, unknown>>(
      operationId: string,
      method: string,
      path: string,
      body: unknown,
      expectedStatus: number,
    ): Promise<T> {
      const res = await api.request<T>(method, path, body);
      expect(res.status, `${operationId} ${method} ${path}: ${JSON.stringify(res.body)}`).toBe(
        expectedStatus,
      );
      expect(contractErrors(operationId, res.status, res.body)).toEqual([]);
      seen.add(operationId);
      return res.body;
    },
  };
}

const configuration = {
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'customerId' },
        { attribute: 'email', field: 'email', _type: 'email' },
      ],
    },
  ],
};
const event = (id: string) => ({
  event_type: 'UPDATE',
  object_type: 'customer',
  timestamp: '2024-01-15T10:35:00Z',
  format: 'json',
  payload: JSON.stringify({ customerId: id, email: `${id}@example.com` }),
  deduplication_id: `dedupe-${id}`,
});

describe('our responses validate against the reference document', () => {
  it('across the lifecycle of integrations, use cases, app mappings, ingestion and simulation', async () => {
    const c = contractClient(testToken(stack, uniqueName('contract-org')));

    // Integrations v1
    const v1 = await c.call<{ id: string }>(
      'createIntegration',
      'POST',
      '/v1/integrations',
      { name: 'v1 integration' },
      201,
    );
    await c.call('listIntegrations', 'GET', '/v1/integrations', undefined, 200);
    await c.call('getIntegration', 'GET', `/v1/integrations/${v1.id}`, undefined, 200);
    await c.call(
      'updateIntegration',
      'PUT',
      `/v1/integrations/${v1.id}`,
      { name: 'renamed', description: 'd' },
      200,
    );

    // Use cases
    const base = `/v1/integrations/${v1.id}/use-cases`;
    const uc = await c.call<{ id: string }>(
      'createUseCase',
      'POST',
      base,
      { name: 'Customer', type: 'inbound', enabled: true, configuration },
      201,
    );
    await c.call(
      'createUseCase',
      'POST',
      base,
      { name: 'Out', slug: 'out', type: 'outbound', enabled: false },
      201,
    );
    await c.call('listUseCases', 'GET', base, undefined, 200);
    await c.call('getUseCase', 'GET', `${base}/${uc.id}`, undefined, 200);
    await c.call(
      'updateUseCase',
      'PUT',
      `${base}/${uc.id}`,
      { name: 'Customer v2', change_description: 'rename' },
      200,
    );
    await c.call('listUseCaseHistory', 'GET', `${base}/${uc.id}/history`, undefined, 200);

    // App mapping and v1 ingestion
    const app = { app_id: randomUUID(), component_id: randomUUID() };
    await c.call('setIntegrationAppMapping', 'PUT', `/v1/integrations/${v1.id}/app-mapping`, app, 200);
    await c.call(
      'processErpUpdatesEvents',
      'POST',
      '/v1/erp/updates/events',
      { ...app, meta: { correlation_id: randomUUID() }, events: [event('CT1')] },
      200,
    );
    await c.call('deleteIntegrationAppMapping', 'DELETE', `/v1/integrations/${v1.id}/app-mapping`, app, 200);

    // Integrations v2 and ingestion v2/v3
    const v2 = await c.call<{ id: string; use_cases: Array<{ id: string }> }>(
      'createIntegrationV2',
      'POST',
      '/v2/integrations',
      {
        name: 'v2 integration',
        use_cases: [{ name: 'customer', type: 'inbound', enabled: true, configuration }],
      },
      201,
    );
    await c.call('listIntegrationsV2', 'GET', '/v2/integrations', undefined, 200);
    await c.call('getIntegrationV2', 'GET', `/v2/integrations/${v2.id}`, undefined, 200);
    await c.call(
      'processErpUpdatesEventsV2',
      'POST',
      '/v2/erp/updates/events',
      { integration_id: v2.id, events: [event('CT2'), { ...event('CT3'), payload: 'not json' }] },
      200,
    );
    await c.call(
      'processErpUpdatesEventsV3',
      'POST',
      '/v3/erp/updates/events',
      {
        integration_id: v2.id,
        group_id: 'customer-CT4',
        events: [
          {
            event_name: 'customer',
            timestamp: '2024-01-15T10:35:00Z',
            format: 'json',
            payload: { customerId: 'CT4' },
          },
        ],
      },
      200,
    );
    await c.call(
      'updateIntegrationV2',
      'PUT',
      `/v2/integrations/${v2.id}`,
      {
        name: 'v2 renamed',
        use_cases: [{ id: v2.use_cases[0]!.id, name: 'customer', type: 'inbound', enabled: true }],
      },
      200,
    );

    // Simulation v2 and v1 (both formats)
    const simulated = await c.call<{ entity_updates: unknown[] }>(
      'simulateMappingV2',
      'POST',
      '/v2/erp/updates/mapping_simulation',
      { event_configuration: configuration, format: 'json', payload: '{"customerId":"S1","email":"s@x.io"}' },
      200,
    );
    expect(simulated.entity_updates).toEqual([
      {
        entity_slug: 'contact',
        unique_identifiers: { customer_number: 'S1' },
        attributes: { customer_number: 'S1', email: [{ email: 's@x.io' }] },
        mode: 'upsert',
      },
    ]);
    await c.call(
      'simulateMapping',
      'POST',
      '/v1/erp/updates/mapping_simulation',
      {
        mapping_configuration: { version: '2.0', mapping: { events: { CustomerChanged: configuration } } },
        object_type: 'CustomerChanged',
        format: 'json',
        payload: { customerId: 'S2' },
      },
      200,
    );
    await c.call(
      'simulateMapping',
      'POST',
      '/v1/erp/updates/mapping_simulation',
      {
        mapping_configuration: {
          version: '1.0',
          mapping: {
            objects: {
              business_partner: {
                unique_ids: { contact: ['customer_number'] },
                fields: [{ entity: 'contact', attribute: 'customer_number', field: 'partner_id' }],
              },
            },
          },
        },
        object_type: 'business_partner',
        format: 'xml',
        payload: '<bp><partner_id>00042</partner_id></bp>',
      },
      200,
    );
    const invalid = await c.call<{ message: string }>(
      'simulateMappingV2',
      'POST',
      '/v2/erp/updates/mapping_simulation',
      {
        event_configuration: { entities: [{ entity_schema: 'x', unique_ids: ['id'], fields: [] }] },
        format: 'json',
        payload: '{}',
      },
      422,
    );
    expect(invalid.message).toContain('event_configuration.entities[0].unique_ids[0]');

    // Errors, validated against their declared schemas too
    await c.call('getIntegration', 'GET', `/v1/integrations/${randomUUID()}`, undefined, 404);
    await c.call('createIntegration', 'POST', '/v1/integrations', { description: 'no name' }, 400);
    await c.call(
      'processErpUpdatesEventsV2',
      'POST',
      '/v2/erp/updates/events',
      { integration_id: randomUUID(), events: [] },
      404,
    );

    // Deletes
    await c.call('deleteUseCase', 'DELETE', `${base}/${uc.id}`, undefined, 200);
    await c.call('deleteIntegration', 'DELETE', `/v1/integrations/${v1.id}`, undefined, 200);
    await c.call('deleteIntegrationV2', 'DELETE', `/v2/integrations/${v2.id}`, undefined, 200);

    expect([...c.seen].sort()).toEqual(
      [
        'createIntegration',
        'listIntegrations',
        'getIntegration',
        'updateIntegration',
        'deleteIntegration',
        'createIntegrationV2',
        'listIntegrationsV2',
        'getIntegrationV2',
        'updateIntegrationV2',
        'deleteIntegrationV2',
        'createUseCase',
        'listUseCases',
        'getUseCase',
        'updateUseCase',
        'deleteUseCase',
        'listUseCaseHistory',
        'setIntegrationAppMapping',
        'deleteIntegrationAppMapping',
        'processErpUpdatesEvents',
        'processErpUpdatesEventsV2',
        'processErpUpdatesEventsV3',
        'simulateMappingV2',
        'simulateMapping',
      ].sort(),
    );
  });

  it('for the nine monitoring operations, with their errors', async () => {
    const c = contractClient(testToken(stack, uniqueName('contract-monitoring')));
    const integration = await c.call<{ id: string }>(
      'createIntegrationV2',
      'POST',
      '/v2/integrations',
      { name: 'monitored', use_cases: [{ name: 'customer', type: 'inbound', enabled: true, configuration }] },
      201,
    );
    const iid = integration.id;
    const correlationId = randomUUID();
    const sent = await c.call<{ results: Array<{ event_id: string }> }>(
      'processErpUpdatesEventsV2',
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: iid,
        correlation_id: correlationId,
        events: [event('CM1'), event('CM1'), { ...event('CM2'), payload: 'not json' }],
      },
      200,
    );
    const eventId = sent.results[0]!.event_id;
    const v1 = `/v1/integrations/${iid}/monitoring`;
    const v2 = `/v2/integrations/${iid}/monitoring`;
    await eventually(
      async () => {
        const trace = await c.call<{ span_count: number }>(
          'getMonitoringTraceByCorrelation',
          'GET',
          `${v2}/traces/${correlationId}`,
          undefined,
          200,
        );
        return trace.span_count >= 5 ? true : undefined;
      },
      60_000,
      'the records of the request',
    );
    const from_date = new Date(Date.now() - 3600_000).toISOString();
    const page = await c.call<{ next_cursor: unknown }>(
      'queryInboundMonitoringEvents',
      'POST',
      `${v1}/inbound-events`,
      { limit: 1 },
      200,
    );
    await c.call(
      'queryInboundMonitoringEvents',
      'POST',
      `${v1}/inbound-events`,
      { cursor: page.next_cursor },
      200,
    );
    await c.call(
      'getMonitoringStats',
      'POST',
      `${v1}/stats`,
      { from_date, inbound_group_by: ['status', 'date'], outbound_group_by: ['status'] },
      200,
    );
    await c.call('getMonitoringTimeSeries', 'POST', `${v1}/timeseries`, { from_date, interval: '30m' }, 200);
    const v2page = await c.call<{ next_cursor: unknown }>(
      'queryMonitoringEventsV2',
      'POST',
      `${v2}/events`,
      { limit: 2, use_case_type: 'inbound' },
      200,
    );
    await c.call('queryMonitoringEventsV2', 'POST', `${v2}/events`, { cursor: v2page.next_cursor }, 200);
    await c.call('queryMonitoringEventsV2', 'POST', `${v2}/events`, { use_case_id: '' }, 200);
    await c.call('queryMonitoringEventsV2', 'POST', `${v2}/events`, { use_case_id: '__unknown__' }, 200);
    for (const group_by of ['use_case_id', 'use_case_type', 'level', 'code', 'date']) {
      await c.call('getMonitoringStatsV2', 'POST', `${v2}/stats`, { from_date, group_by }, 200);
    }
    await c.call('getMonitoringStatsV2', 'POST', `${v2}/stats`, { source: 'incoming' }, 200);
    for (const group_by of ['use_case_type', 'use_case']) {
      await c.call(
        'getMonitoringTimeSeriesV2',
        'POST',
        `${v2}/time-series`,
        { from_date, interval: '1h', group_by },
        200,
      );
    }
    await c.call(
      'getAssociatedMonitoringEvents',
      'GET',
      `${v2}/events/${eventId}/associated`,
      undefined,
      200,
    );
    await c.call('getAssociatedMonitoringEvents', 'GET', `${v2}/events/evt_none/associated`, undefined, 200);
    await c.call('getMonitoringTraceByCorrelation', 'GET', `${v2}/traces/${randomUUID()}`, undefined, 200);
    await c.call(
      'ingestExternalMonitoringEvents',
      'POST',
      `${v2}/external-events`,
      {
        events: [
          {
            correlation_id: correlationId,
            level: 'success',
            use_case_slug: 'customer',
            occurred_at: new Date().toISOString(),
            message: 'forwarded',
          },
          { level: 'nope' },
        ],
      },
      202,
    );

    // Errors, in the reference's error shapes.
    const tooMany = { from_date: '2025-01-01T00:00:00Z', to_date: '2025-02-01T00:00:00Z', interval: '5m' };
    await c.call('getMonitoringTimeSeries', 'POST', `${v1}/timeseries`, tooMany, 400);
    await c.call('getMonitoringTimeSeriesV2', 'POST', `${v2}/time-series`, tooMany, 400);
    await c.call('queryMonitoringEventsV2', 'POST', `${v2}/events`, { limit: 0 }, 400);
    await c.call('queryInboundMonitoringEvents', 'POST', `${v1}/inbound-events`, { limit: 101 }, 400);
    await c.call(
      'getMonitoringStatsV2',
      'POST',
      `${v2}/stats`,
      { source: 'incoming', group_by: 'level' },
      400,
    );
    await c.call('ingestExternalMonitoringEvents', 'POST', `${v2}/external-events`, { events: [] }, 400);
    const other = `/v2/integrations/${randomUUID()}/monitoring`;
    await c.call('queryMonitoringEventsV2', 'POST', `${other}/events`, {}, 404);
    await c.call('getMonitoringTraceByCorrelation', 'GET', `${other}/traces/x`, undefined, 404);

    expect([...c.seen].sort()).toEqual(
      [
        'createIntegrationV2',
        'processErpUpdatesEventsV2',
        'queryInboundMonitoringEvents',
        'getMonitoringStats',
        'getMonitoringTimeSeries',
        'queryMonitoringEventsV2',
        'getMonitoringStatsV2',
        'getMonitoringTimeSeriesV2',
        'getAssociatedMonitoringEvents',
        'getMonitoringTraceByCorrelation',
        'ingestExternalMonitoringEvents',
      ].sort(),
    );
  });

  it('answers 401 in the reference error shape', async () => {
    const res = await apiClient(stack.baseUrl).request('GET', '/v1/integrations');
    expect(res.status).toBe(401);
    expect(contractErrors('listIntegrations', 401, res.body)).toEqual([]);
  });
});

describe('our own API description', () => {
  it('serves /openapi.json with every operation we implement and a browsable page at /docs', async () => {
    const res = await fetch(`${stack.baseUrl}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      servers: Array<{ url: string }>;
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    expect(doc.servers[0]!.url).toBe(stack.baseUrl);
    const ids = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(ids).toEqual(
      expect.arrayContaining([
        'processErpUpdatesEventsV2',
        'createIntegrationV2',
        'queryEvents',
        'getEntity',
        'queryInboundMonitoringEvents',
        'getMonitoringStats',
        'getMonitoringTimeSeries',
        'queryMonitoringEventsV2',
        'getMonitoringStatsV2',
        'getMonitoringTimeSeriesV2',
        'getAssociatedMonitoringEvents',
        'getMonitoringTraceByCorrelation',
        'ingestExternalMonitoringEvents',
      ]),
    );
    const page = await fetch(`${stack.baseUrl}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
    const asset = await fetch(`${stack.baseUrl}/docs/static/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
  });
});
