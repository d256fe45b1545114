import { randomUUID } from 'node:crypto';
import { apiClient, eventually, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();

// Invariant 5: one organisation never sees or changes another's integrations, events, entities or data.
describe('organisations are isolated on every resource', () => {
  it('answers 404 for every resource of another organisation and changes nothing', async () => {
    const owner = apiClient(stack.baseUrl, testToken(stack, uniqueName('owner')));
    const other = apiClient(stack.baseUrl, testToken(stack, uniqueName('other')));

    const integration = await owner.request<{ id: string; use_cases: Array<{ id: string }> }>(
      'POST',
      '/v2/integrations',
      {
        name: 'private',
        use_cases: [
          {
            name: 'customer',
            type: 'inbound',
            enabled: true,
            configuration: {
              entities: [
                { entity_schema: 'contact', unique_ids: ['id'], fields: [{ attribute: 'id', field: 'id' }] },
              ],
            },
          },
        ],
      },
    );
    const iid = integration.body.id;
    const correlationId = randomUUID();
    const uid = integration.body.use_cases[0]!.id;
    const sent = await owner.request<{ results: Array<{ event_id: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: iid,
        correlation_id: correlationId,
        events: [
          {
            event_type: 'UPDATE',
            object_type: 'customer',
            timestamp: '2024-01-15T10:35:00Z',
            format: 'json',
            payload: { id: 'ISO1' },
          },
        ],
      },
    );
    const eventId = sent.body.results[0]!.event_id;
    const since = new Date(Date.now() - 3600_000).toISOString();
    const entity = await eventually(
      async () => {
        const res = await owner.request<{ results: Array<{ _id: string }> }>(
          'GET',
          '/v1/entity/contact?id=ISO1',
        );
        return res.body.results[0];
      },
      30_000,
      'the owner’s entity',
    );

    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/v1/integrations/${iid}`],
      ['PUT', `/v1/integrations/${iid}`, { name: 'stolen' }],
      ['GET', `/v2/integrations/${iid}`],
      ['PUT', `/v2/integrations/${iid}`, { name: 'stolen', use_cases: [] }],
      ['GET', `/v1/integrations/${iid}/use-cases`],
      ['POST', `/v1/integrations/${iid}/use-cases`, { name: 'x', type: 'inbound', enabled: true }],
      ['GET', `/v1/integrations/${iid}/use-cases/${uid}`],
      ['PUT', `/v1/integrations/${iid}/use-cases/${uid}`, { enabled: false }],
      ['GET', `/v1/integrations/${iid}/use-cases/${uid}/history`],
      ['PUT', `/v1/integrations/${iid}/app-mapping`, { app_id: randomUUID(), component_id: randomUUID() }],
      ['POST', `/v1/integrations/${iid}/events`, {}],
      ['POST', `/v1/integrations/${iid}/events/replay`, { event_ids: [sent.body.results[0]!.event_id] }],
      ['POST', '/v2/erp/updates/events', { integration_id: iid, events: [] }],
      ['GET', `/v1/entity/contact/${entity._id}`],
      ['POST', `/v1/integrations/${iid}/monitoring/inbound-events`, {}],
      ['POST', `/v1/integrations/${iid}/monitoring/stats`, {}],
      ['POST', `/v1/integrations/${iid}/monitoring/timeseries`, { from_date: since, interval: '1h' }],
      ['POST', `/v2/integrations/${iid}/monitoring/events`, {}],
      ['POST', `/v2/integrations/${iid}/monitoring/stats`, {}],
      ['POST', `/v2/integrations/${iid}/monitoring/time-series`, { from_date: since, interval: '1h' }],
      ['GET', `/v2/integrations/${iid}/monitoring/events/${eventId}/associated`],
      ['GET', `/v2/integrations/${iid}/monitoring/traces/${correlationId}`],
      [
        'POST',
        `/v2/integrations/${iid}/monitoring/external-events`,
        {
          events: [
            {
              correlation_id: correlationId,
              level: 'error',
              use_case_slug: 'customer',
              occurred_at: since,
              message: 'spoofed',
            },
          ],
        },
      ],
      ['DELETE', `/v1/integrations/${iid}/use-cases/${uid}`],
      ['DELETE', `/v1/integrations/${iid}`],
      ['DELETE', `/v2/integrations/${iid}`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await other.request(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const search = await other.request<{ results: unknown[] }>('GET', '/v1/entity/contact?id=ISO1');
    expect(search.body.results).toEqual([]);
    const lists = await other.request<{ integrations: unknown[] }>('GET', '/v2/integrations');
    expect(lists.body.integrations).toEqual([]);

    // The owner's monitoring still shows only the owner's records: nothing the other org sent landed.
    const trace = await eventually(
      async () => {
        const res = await owner.request<{ spans: Array<{ org_id: string; stage: string }> }>(
          'GET',
          `/v2/integrations/${iid}/monitoring/traces/${correlationId}`,
        );
        return res.body.spans.some((s) => s.stage === 'entity_written') ? res.body : undefined;
      },
      30_000,
      'the owner’s trace',
    );
    expect(trace.spans.every((s) => s.stage !== 'external')).toBe(true);

    // Nothing changed for the owner.
    const after = await owner.request<{ name: string; use_cases: Array<{ enabled: boolean }> }>(
      'GET',
      `/v2/integrations/${iid}`,
    );
    expect(after.body.name).toBe('private');
    expect(after.body.use_cases).toHaveLength(1);
    expect(after.body.use_cases[0]!.enabled).toBe(true);
  });

  it('needs the manage grant to change anything (403), view is enough to read', async () => {
    const org = uniqueName('grants');
    const viewer = apiClient(stack.baseUrl, testToken(stack, org, ['integration:view']));
    expect((await viewer.request('GET', '/v2/integrations')).status).toBe(200);
    const res = await viewer.request<{ code: string }>('POST', '/v2/integrations', { name: 'nope' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
  });
});
