import { randomUUID } from 'node:crypto';
import { eventually, resolveStack, testToken, uniqueName } from '@hub/testing';
import createClient from 'openapi-fetch';
import { describe, expect, it } from 'vitest';
import { contractErrors } from './contract.js';
import type { paths } from './generated/reference.js';

const stack = resolveStack();

// A client generated from the reference document alone (`npm run generate -w @hub/e2e`: openapi-typescript
// types + openapi-fetch), pointed at our base URL, runs the whole lifecycle. The request bodies are
// type-checked against the reference's schemas; every response is validated against them too.
describe('a client generated from the reference document', () => {
  it('runs the lifecycle: integration, use cases, events v1/v2/v3, query, replay, update, delete', async () => {
    const authHeaders = { Authorization: `Bearer ${testToken(stack, uniqueName('generated-client'))}` };
    const client = createClient<paths>({ baseUrl: stack.baseUrl, headers: authHeaders });
    const check = (operationId: string, res: { response: Response; data?: unknown; error?: unknown }) => {
      expect(contractErrors(operationId, res.response.status, res.data ?? res.error)).toEqual([]);
      expect(res.response.ok, `${operationId}: ${JSON.stringify(res.error)}`).toBe(true);
    };

    const created = await client.POST('/v2/integrations', {
      body: {
        name: 'Generated client',
        use_cases: [
          {
            name: 'Customer',
            slug: 'customer',
            type: 'inbound',
            enabled: true,
            configuration: {
              entities: [
                {
                  entity_schema: 'contact',
                  unique_ids: ['customer_number'],
                  fields: [
                    { attribute: 'customer_number', field: 'id' },
                    { attribute: 'last_name', field: 'name' },
                  ],
                },
              ],
            },
          },
          {
            name: 'Customer XML',
            slug: 'customer-xml',
            type: 'inbound',
            enabled: true,
            configuration: {
              entities: [
                {
                  entity_schema: 'contact',
                  unique_ids: ['customer_number'],
                  fields: [
                    { attribute: 'customer_number', field: '$.c.id' },
                    { attribute: 'last_name', field: '$.c.name' },
                  ],
                },
              ],
            },
          },
        ],
      },
    });
    check('createIntegrationV2', created);
    const integrationId = created.data!.id;
    const useCaseId = created.data!.use_cases.find((u) => u.slug === 'customer')!.id;
    const params = { path: { integrationId } };

    const extra = await client.POST('/v1/integrations/{integrationId}/use-cases', {
      params,
      body: { name: 'Outbound', slug: 'outbound', type: 'outbound', enabled: false },
    });
    check('createUseCase', extra);
    check('listUseCases', await client.GET('/v1/integrations/{integrationId}/use-cases', { params }));

    const app = { app_id: randomUUID(), component_id: randomUUID() };
    check(
      'setIntegrationAppMapping',
      await client.PUT('/v1/integrations/{integrationId}/app-mapping', { params, body: app }),
    );

    const timestamp = new Date().toISOString();
    const v1 = await client.POST('/v1/erp/updates/events', {
      body: {
        ...app,
        meta: { correlation_id: randomUUID() },
        events: [
          {
            event_type: 'CREATE',
            object_type: 'customer',
            timestamp,
            format: 'json',
            payload: '{"id":"G1","name":"One"}',
          },
        ],
      },
    });
    check('processErpUpdatesEvents', v1);
    const v2 = await client.POST('/v2/erp/updates/events', {
      body: {
        integration_id: integrationId,
        events: [
          {
            event_type: 'UPDATE',
            object_type: 'customer',
            timestamp,
            format: 'json',
            payload: { id: 'G2', name: 'Two' },
          },
        ],
      },
    });
    check('processErpUpdatesEventsV2', v2);
    const v3 = await client.POST('/v3/erp/updates/events', {
      body: {
        integration_id: integrationId,
        events: [
          {
            use_case_slug: 'customer-xml',
            timestamp,
            format: 'xml',
            payload: '<c><id>00G3</id><name>Three</name></c>',
          },
        ],
      },
    });
    check('processErpUpdatesEventsV3', v3);
    expect([v1, v2, v3].map((r) => r.data?.results?.[0]?.status)).toEqual(['success', 'success', 'success']);

    const query = await client.POST('/v1/integrations/{integrationId}/events', {
      params,
      body: { limit: 25 },
    });
    check('queryEvents', query);
    expect(query.data!.data).toHaveLength(3);

    const replay = await client.POST('/v1/integrations/{integrationId}/events/replay', {
      params,
      body: { event_ids: [v2.data!.results![0]!.event_id] },
    });
    check('replayEvents', replay);
    expect(replay.data!.replayed).toBe(1);

    const updated = await client.PUT('/v1/integrations/{integrationId}/use-cases/{useCaseId}', {
      params: { path: { integrationId, useCaseId } },
      body: { type: 'inbound', name: 'Customer renamed', change_description: 'rename' },
    });
    check('updateUseCase', updated);
    const history = await client.GET('/v1/integrations/{integrationId}/use-cases/{useCaseId}/history', {
      params: { path: { integrationId, useCaseId } },
    });
    check('listUseCaseHistory', history);
    expect(history.data!.history).toHaveLength(1);

    const simulated = await client.POST('/v2/erp/updates/mapping_simulation', {
      body: {
        event_configuration: {
          entities: [
            { entity_schema: 'contact', unique_ids: ['n'], fields: [{ attribute: 'n', field: 'n' }] },
          ],
        },
        format: 'json',
        payload: '{"n":"S"}',
      },
    });
    check('simulateMappingV2', simulated);

    // The XML event (v3) landed too, as its documented JSON tree: leaf values stay strings.
    const xmlContact = await eventually(
      async () => {
        const res = await fetch(`${stack.baseUrl}/v1/entity/contact?customer_number=00G3`, {
          headers: authHeaders,
        });
        const body = (await res.json()) as { results: Array<Record<string, unknown>> };
        return body.results[0];
      },
      30_000,
      'the contact from the XML event',
    );
    expect(xmlContact.last_name).toBe('Three');

    // Monitoring: the v3 event's life, through the generated client.
    const v3EventId = v3.data!.results![0]!.event_id!;
    const associated = await eventually(
      async () => {
        const res = await client.GET(
          '/v2/integrations/{integrationId}/monitoring/events/{eventId}/associated',
          {
            params: { path: { integrationId, eventId: v3EventId } },
          },
        );
        const stages = (res.data?.monitoring_events ?? []).map((e) => (e as { stage?: string }).stage);
        return stages.includes('entity_written') ? res : undefined;
      },
      30_000,
      'the v3 event written, in monitoring',
    );
    check('getAssociatedMonitoringEvents', associated);
    expect(associated.data!.inbound_event).toMatchObject({ event_id: v3EventId });
    const monitored = await client.POST('/v2/integrations/{integrationId}/monitoring/events', {
      params,
      body: { event_id: v3EventId, level: 'success', limit: 10 },
    });
    check('queryMonitoringEventsV2', monitored);
    expect(monitored.data!.data!.map((e) => e.event_id)).toEqual([v3EventId, v3EventId, v3EventId]);

    check(
      'deleteIntegrationAppMapping',
      await client.DELETE('/v1/integrations/{integrationId}/app-mapping', { params, body: app }),
    );
    check('deleteIntegrationV2', await client.DELETE('/v2/integrations/{integrationId}', { params }));
    const gone = await client.GET('/v2/integrations/{integrationId}', { params });
    expect(gone.response.status).toBe(404);
  });
});
