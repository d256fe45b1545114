import { randomUUID } from 'node:crypto';
import { Topics } from '@hub/contracts';
import { apiClient, collectTopic, eventually, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();

const contactConfig = (extra: Array<Record<string, unknown>> = []) => ({
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'id' },
        { attribute: 'first_name', field: 'first' },
        ...extra,
      ],
    },
  ],
});

const event = (payload: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  event_type: 'UPDATE',
  object_type: 'customer',
  timestamp: new Date().toISOString(),
  format: 'json',
  payload,
  ...extra,
});

function fresh() {
  const org = uniqueName('org');
  return { org, api: apiClient(stack.baseUrl, testToken(stack, org)) };
}

async function contact(api: ReturnType<typeof apiClient>, id: string) {
  const res = await api.request<{ results: Array<Record<string, unknown>> }>(
    'GET',
    `/v1/entity/contact?customer_number=${id}`,
  );
  return res.body.results;
}

describe('use cases: update, history, delete', () => {
  it('keeps every previous version, newest first, with cursor pagination', async () => {
    const { api } = fresh();
    const integration = await api.request<{ id: string }>('POST', '/v1/integrations', { name: 'history' });
    expect(integration.status).toBe(201);
    const base = `/v1/integrations/${integration.body.id}/use-cases`;
    const created = await api.request<{ id: string; slug: string }>('POST', base, {
      name: 'Customer Sync',
      type: 'inbound',
      enabled: true,
      configuration: contactConfig(),
    });
    expect(created.body.slug).toBe('customer-sync');
    for (let n = 1; n <= 22; n++) {
      const updated = await api.request<{ name: string }>('PUT', `${base}/${created.body.id}`, {
        name: `Customer Sync v${n + 1}`,
        change_description: `change ${n}`,
      });
      expect(updated.status).toBe(200);
      expect(updated.body.name).toBe(`Customer Sync v${n + 1}`);
    }
    const first = await api.request<{
      history: Array<{ name: string; useCaseId: string }>;
      next_cursor?: string;
    }>('GET', `${base}/${created.body.id}/history`);
    expect(first.status).toBe(200);
    expect(first.body.history).toHaveLength(20);
    expect(first.body.history[0]!.name).toBe('Customer Sync v22'); // the version before the last update
    expect(first.body.history[0]!.useCaseId).toBe(created.body.id);
    const second = await api.request<{ history: Array<{ name: string }>; next_cursor?: string }>(
      'GET',
      `${base}/${created.body.id}/history?cursor=${first.body.next_cursor}`,
    );
    expect(second.body.history.map((h) => h.name)).toEqual(['Customer Sync v2', 'Customer Sync']);
    expect(second.body.next_cursor).toBeUndefined();
    expect((await api.request('GET', `${base}/${created.body.id}/history?cursor=garbage`)).status).toBe(400);

    // The slug is immutable; an invalid configuration is refused with its path.
    const slug = await api.request<{ message: string }>('PUT', `${base}/${created.body.id}`, {
      slug: 'other',
    });
    expect(slug.status).toBe(400);
    const invalid = await api.request<{ message: string }>('PUT', `${base}/${created.body.id}`, {
      configuration: {
        entities: [
          {
            entity_schema: 'contact',
            unique_ids: ['x'],
            fields: [{ attribute: 'y', jsonataExpression: '$$$(' }],
          },
        ],
      },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.message).toContain('body.configuration.entities[0].fields[0].jsonataExpression');
    expect(invalid.body.message).toContain('body.configuration.entities[0].unique_ids[0]');

    expect((await api.request('DELETE', `${base}/${created.body.id}`)).status).toBe(200);
    expect((await api.request('GET', `${base}/${created.body.id}`)).status).toBe(404);
  });

  it('refuses use-case types this server does not run, saying which are supported', async () => {
    const { api } = fresh();
    const integration = await api.request<{ id: string }>('POST', '/v1/integrations', { name: 'types' });
    const res = await api.request<{ code: string; message: string }>(
      'POST',
      `/v1/integrations/${integration.body.id}/use-cases`,
      {
        name: 'proxy',
        type: 'secure_proxy',
        enabled: true,
      },
    );
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('inbound, outbound');
  });
});

describe('configuration changes reach the pipeline', () => {
  it('applies a change that has been answered to every event accepted after it', async () => {
    const { api } = fresh();
    const integration = await api.request<{ id: string; use_cases: Array<{ id: string }> }>(
      'POST',
      '/v2/integrations',
      {
        name: 'live config',
        use_cases: [{ name: 'customer', type: 'inbound', enabled: true, configuration: contactConfig() }],
      },
    );
    expect(integration.status).toBe(201);
    const useCaseId = integration.body.use_cases[0]!.id;
    const post = (payload: Record<string, unknown>) =>
      api.request<{ results: Array<{ status: string }> }>('POST', '/v2/erp/updates/events', {
        integration_id: integration.body.id,
        events: [event(payload)],
      });

    // Change the mapping, then immediately send: the new field must be mapped.
    const changed = await api.request(
      'PUT',
      `/v1/integrations/${integration.body.id}/use-cases/${useCaseId}`,
      {
        configuration: contactConfig([{ attribute: 'segment', constant: 'B2C' }]),
      },
    );
    expect(changed.status).toBe(200);
    const started = Date.now();
    expect((await post({ id: 'K1', first: 'Ann' })).body.results[0]!.status).toBe('success');
    const found = await eventually(async () => (await contact(api, 'K1'))[0], 30_000, 'contact K1');
    expect(found.segment).toBe('B2C');
    console.log(`config change -> event mapped with it: ${Date.now() - started} ms`);

    // Disable the use case: the next event is ignored, not mapped.
    await api.request('PUT', `/v1/integrations/${integration.body.id}/use-cases/${useCaseId}`, {
      enabled: false,
    });
    expect((await post({ id: 'K2', first: 'Bob' })).body.results[0]!.status).toBe('ignored');
  });
});

describe('v2 declarative sync and v1 ingestion through the app mapping', () => {
  it('replaces the use-case set with the desired one', async () => {
    const { api } = fresh();
    const created = await api.request<{ id: string; use_cases: Array<{ id: string; name: string }> }>(
      'POST',
      '/v2/integrations',
      {
        name: 'sync',
        use_cases: [
          { name: 'keep', type: 'inbound', enabled: true, configuration: contactConfig() },
          { name: 'drop', type: 'inbound', enabled: true, configuration: contactConfig() },
        ],
      },
    );
    const keep = created.body.use_cases.find((u) => u.name === 'keep')!;
    const synced = await api.request<{
      name: string;
      use_cases: Array<{ id: string; name: string; enabled: boolean }>;
    }>('PUT', `/v2/integrations/${created.body.id}`, {
      name: 'sync renamed',
      use_cases: [
        { id: keep.id, name: 'keep', type: 'inbound', enabled: false },
        { name: 'new one', type: 'outbound', enabled: true },
      ],
    });
    expect(synced.status).toBe(200);
    expect(synced.body.name).toBe('sync renamed');
    expect(synced.body.use_cases.map((u) => [u.name, u.enabled]).sort()).toEqual([
      ['keep', false],
      ['new one', true],
    ]);
    expect(synced.body.use_cases.find((u) => u.name === 'keep')!.id).toBe(keep.id);
    const other = fresh();
    expect(
      (await other.api.request('PUT', `/v2/integrations/${created.body.id}`, { name: 'x' })).status,
    ).toBe(404);
  });

  it('routes v1 events by app and component to the mapped integration', async () => {
    const { api } = fresh();
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'v1',
      use_cases: [{ name: 'customer', type: 'inbound', enabled: true, configuration: contactConfig() }],
    });
    const app = { app_id: randomUUID(), component_id: randomUUID() };
    const v1 = (id: string) =>
      api.request<{ results: Array<{ status: string }>; code?: string }>('POST', '/v1/erp/updates/events', {
        ...app,
        meta: { correlation_id: randomUUID() },
        events: [event({ id, first: 'Via v1' })],
      });
    expect((await v1('V1')).status).toBe(404);
    const mapped = await api.request('PUT', `/v1/integrations/${integration.body.id}/app-mapping`, app);
    expect(mapped.status).toBe(200);
    expect(mapped.body).toEqual({ integration_id: integration.body.id });
    const res = await v1('V1');
    expect(res.status).toBe(200);
    expect(res.body.results[0]!.status).toBe('success');
    await eventually(async () => (await contact(api, 'V1'))[0], 30_000, 'contact V1 via v1');

    const second = await api.request<{ id: string }>('POST', '/v1/integrations', { name: 'second' });
    expect((await api.request('PUT', `/v1/integrations/${second.body.id}/app-mapping`, app)).status).toBe(
      409,
    );
    expect(
      (await api.request('DELETE', `/v1/integrations/${integration.body.id}/app-mapping`, app)).status,
    ).toBe(200);
    expect((await v1('V2')).status).toBe(404);
  });
});

describe('ingestion rules', () => {
  it('answers per event: success, error for a bad payload, ignored without a use case; 400 names the index and field', async () => {
    const { api } = fresh();
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'rules',
      use_cases: [
        { name: 'customer', type: 'inbound', enabled: true, configuration: contactConfig() },
        { name: 'contract', type: 'inbound', enabled: true, configuration: contactConfig() },
      ],
    });
    const res = await api.request<{ results: Array<{ status: string; message: string; event_id: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: integration.body.id,
        events: [
          event({ id: 'R1', first: 'ok' }),
          event({}, { payload: '{"broken":', format: 'json' }),
          event({ id: 'R3' }, { object_type: 'meter' }),
          event({}, { payload: '<a><b></a>', format: 'xml' }),
        ],
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.results.map((r) => r.status)).toEqual(['success', 'error', 'ignored', 'error']);
    expect(res.body.results[1]!.message).toMatch(/events\[1\]\.payload: payload is not valid JSON/);
    expect(res.body.results[3]!.message).toMatch(/events\[3\]\.payload: payload is not valid XML.*line 1/);
    expect(new Set(res.body.results.map((r) => r.event_id)).size).toBe(4);

    const bad = await api.request<{ code: string; message: string }>('POST', '/v2/erp/updates/events', {
      integration_id: integration.body.id,
      events: [event({ id: 'ok' }), event({ id: 'x' }, { event_type: 'UPSERT' })],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('events[1].event_type');
    const tooMany = await api.request<{ code: string; message: string }>('POST', '/v2/erp/updates/events', {
      integration_id: integration.body.id,
      events: Array.from({ length: 1001 }, (_, i) => event({ id: `T${i}` })),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toContain('limit of 1000 events');
  });

  it('gives exactly one success to concurrent requests with the same deduplication id', async () => {
    const { api } = fresh();
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'dedupe',
      use_cases: [{ name: 'customer', type: 'inbound', enabled: true, configuration: contactConfig() }],
    });
    const dedup = `race-${randomUUID()}`;
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        api.request<{ results: Array<{ status: string }> }>('POST', '/v2/erp/updates/events', {
          integration_id: integration.body.id,
          events: [event({ id: 'D1', first: 'once' }, { deduplication_id: dedup })],
        }),
      ),
    );
    const statuses = responses.map((r) => r.body.results[0]!.status).sort();
    expect(statuses).toEqual([
      'skipped',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
      'success',
    ]);
  });

  it('keeps the order of 1,000 successive updates to one entity', async () => {
    const { api, org } = fresh();
    const processed = await collectTopic(stack.kafkaBrokers, Topics.entitiesProcessed);
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'order',
      use_cases: [
        {
          name: 'customer',
          type: 'inbound',
          enabled: true,
          configuration: contactConfig([{ attribute: 'seq', jsonataExpression: 'seq' }]),
        },
      ],
    });
    const started = Date.now();
    for (let batch = 0; batch < 10; batch++) {
      const res = await api.request<{ results: Array<{ status: string }> }>(
        'POST',
        '/v2/erp/updates/events',
        {
          integration_id: integration.body.id,
          events: Array.from({ length: 100 }, (_, i) =>
            event({ id: 'ORD', first: 'x', seq: batch * 100 + i + 1 }),
          ),
        },
      );
      expect(res.body.results.every((r) => r.status === 'success')).toBe(true);
    }
    const last = await eventually(
      async () => {
        const [c] = await contact(api, 'ORD');
        return c?.seq === 1000 ? c : undefined;
      },
      240_000,
      'the 1,000th update',
    );
    expect(last.seq).toBe(1000);
    expect(await contact(api, 'ORD')).toHaveLength(1);
    // Every change was applied, once, in the order accepted.
    const seqs = await eventually(
      async () => {
        const values = processed.values<{ org_id: string; entity: { seq: number } }>((v) => v.org_id === org);
        return values.length >= 1000 ? values.map((v) => v.entity.seq) : undefined;
      },
      30_000,
      '1,000 processed-entity messages',
    );
    await processed.stop();
    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    console.log(`1,000 ordered updates to one entity applied in ${Date.now() - started} ms`);
  }, 300_000);
});
