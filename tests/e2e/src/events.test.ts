import { apiClient, eventually, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';
import { contractErrors } from './contract.js';

const stack = resolveStack();

describe('stored events: query and replay', () => {
  it('lists events newest first with filters and a keyset cursor, scoped to the organisation', async () => {
    const org = uniqueName('events-org');
    const api = apiClient(stack.baseUrl, testToken(stack, org));
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'events',
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
    });
    const correlation = `corr-${org}`;
    const sent = await api.request<{ results: Array<{ event_id: string; status: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: integration.body.id,
        correlation_id: correlation,
        events: Array.from({ length: 30 }, (_, i) => ({
          event_type: i % 2 ? 'CREATE' : 'UPDATE',
          object_type: 'customer',
          timestamp: '2024-01-15T10:35:00Z',
          format: 'json',
          payload: { id: `E${i}` },
        })),
      },
    );
    const ids = sent.body.results.map((r) => r.event_id);
    const path = `/v1/integrations/${integration.body.id}/events`;

    const page1 = await api.request<{
      data: Array<{ event_id: string }>;
      next_cursor: unknown;
      has_more: boolean;
    }>('POST', path, {});
    expect(page1.status).toBe(200);
    expect(contractErrors('queryEvents', 200, page1.body)).toEqual([]);
    expect(page1.body.data).toHaveLength(25);
    expect(page1.body.has_more).toBe(true);
    const page2 = await api.request<{
      data: Array<{ event_id: string }>;
      next_cursor: unknown;
      has_more: boolean;
    }>('POST', path, {
      cursor: page1.body.next_cursor,
    });
    expect(page2.body.has_more).toBe(false);
    expect(page2.body.next_cursor).toBeNull();
    // Newest first, every event exactly once across the pages (ids sort by creation).
    expect([...page1.body.data, ...page2.body.data].map((e) => e.event_id)).toEqual([...ids].reverse());

    const creates = await api.request<{ data: Array<{ event_type: string }> }>('POST', path, {
      event_type: 'CREATE',
      limit: 25,
    });
    expect(creates.body.data).toHaveLength(15);
    expect(creates.body.data.every((e) => e.event_type === 'CREATE')).toBe(true);
    const one = await api.request<{
      data: Array<{ event_id: string; correlation_id: string; payload: string }>;
    }>('POST', path, {
      event_id: ids[3],
    });
    expect(one.body.data).toEqual([
      expect.objectContaining({ event_id: ids[3], correlation_id: correlation, payload: '{"id":"E3"}' }),
    ]);
    expect((await api.request('POST', path, { limit: 26 })).status).toBe(400);

    const stranger = apiClient(stack.baseUrl, testToken(stack, uniqueName('stranger')));
    expect((await stranger.request('POST', path, {})).status).toBe(404);
  });

  it('replays a failed event after its configuration is fixed, and it then succeeds', async () => {
    const org = uniqueName('replay-org');
    const api = apiClient(stack.baseUrl, testToken(stack, org));
    const broken = {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['id'],
          fields: [
            { attribute: 'id', field: 'id' },
            { attribute: 'score', jsonataExpression: '$number(score)' },
          ],
        },
      ],
    };
    const integration = await api.request<{ id: string; use_cases: Array<{ id: string }> }>(
      'POST',
      '/v2/integrations',
      {
        name: 'replay',
        use_cases: [{ name: 'customer', type: 'inbound', enabled: true, configuration: broken }],
      },
    );
    const sent = await api.request<{ results: Array<{ event_id: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: integration.body.id,
        correlation_id: `replay-${integration.body.id}`,
        events: [
          {
            event_type: 'UPDATE',
            object_type: 'customer',
            timestamp: '2024-01-15T10:35:00Z',
            format: 'json',
            payload: { id: 'RP1', score: 'high' },
          },
        ],
      },
    );
    const failedId = sent.body.results[0]!.event_id;
    // The expression fails ($number("high")): the failure reaches monitoring as the event's final record
    // (the positive signal that the pipeline is done with it), and no entity was written.
    await eventually(
      async () => {
        const trace = await api.request<{ spans: Array<{ event_id: string; level: string }> }>(
          'GET',
          `/v2/integrations/${integration.body.id}/monitoring/traces/replay-${integration.body.id}`,
        );
        return trace.body.spans?.some((s) => s.event_id === failedId && s.level === 'error')
          ? true
          : undefined;
      },
      60_000,
      'the failed event in monitoring',
    );
    const before = await api.request<{ results: unknown[] }>('GET', '/v1/entity/contact?id=RP1');
    expect(before.body.results).toEqual([]);

    // Fix the configuration, then replay.
    const fixed = {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['id'],
          fields: [
            { attribute: 'id', field: 'id' },
            { attribute: 'score', jsonataExpression: 'score = "high" ? 3 : 1' },
          ],
        },
      ],
    };
    await api.request(
      'PUT',
      `/v1/integrations/${integration.body.id}/use-cases/${integration.body.use_cases[0]!.id}`,
      {
        configuration: fixed,
      },
    );
    const replay = await api.request<{
      replayed: number;
      results: Array<{ event_id: string; status: string; replay_event_id?: string }>;
    }>('POST', `/v1/integrations/${integration.body.id}/events/replay`, {
      event_ids: [failedId, 'evt_01J0000000000000000000000'],
    });
    expect(replay.status).toBe(200);
    expect(contractErrors('replayEvents', 200, replay.body)).toEqual([]);
    expect(replay.body.replayed).toBe(1);
    expect(replay.body.results.map((r) => [r.event_id, r.status])).toEqual([
      [failedId, 'success'],
      ['evt_01J0000000000000000000000', 'not_found'],
    ]);
    expect(replay.body.results[0]!.replay_event_id).toMatch(/^evt_/);
    expect(replay.body.results[0]!.replay_event_id).not.toBe(failedId);
    const entity = await eventually(
      async () => {
        const res = await api.request<{ results: Array<Record<string, unknown>> }>(
          'GET',
          '/v1/entity/contact?id=RP1',
        );
        return res.body.results[0];
      },
      30_000,
      'the replayed event’s entity',
    );
    expect(entity.score).toBe(3);
  });
});
