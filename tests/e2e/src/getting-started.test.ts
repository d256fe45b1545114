import { randomUUID } from 'node:crypto';
import { Topics } from '@hub/contracts';
import {
  apiClient,
  collectTopic,
  eventually,
  resolveStack,
  type TopicCollector,
  testToken,
  uniqueName,
} from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuideRequest, guideRequests, guideResponses } from './guide.js';

const GUIDE_HOST = 'https://erp-integration.sls.epilot.io';
const stack = resolveStack();

/** Shape of a value: same keys and types, recursively (the guide's ids and dates are examples). */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shapeOf(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  }
  return typeof value;
}

/**
 * Sends a request of the guide exactly as written, replacing only what the guide tells the reader to
 * replace: the host, the token, the saved integration id, and the `<uuidv4()>` placeholder.
 */
async function send(request: GuideRequest, token: string, replacements: Record<string, string>) {
  let url = request.url.replace(GUIDE_HOST, stack.baseUrl);
  let body = request.body;
  for (const [from, to] of Object.entries(replacements)) {
    url = url.replaceAll(from, to);
    body = body.replaceAll(from, to);
  }
  const headers = {
    ...request.headers,
    authorization: request.headers.authorization!.replace('<your-token>', token),
  };
  const res = await fetch(url, { method: request.method, headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the getting-started guide, verbatim against our base URL', () => {
  const requests = guideRequests();
  const responses = guideResponses();
  const org = uniqueName('guide-org');
  const token = testToken(stack, org);
  const api = apiClient(stack.baseUrl, token);
  let processed: TopicCollector;

  beforeAll(async () => {
    processed = await collectTopic(stack.kafkaBrokers, Topics.entitiesProcessed);
  });
  afterAll(async () => {
    await processed?.stop();
  });

  it('finds the three requests of the guide', () => {
    expect(requests.map((r) => `${r.method} ${r.url.replace(GUIDE_HOST, '')}`)).toEqual([
      'POST /v2/integrations',
      'POST /v1/integrations/{integrationId}/use-cases',
      'POST /v2/erp/updates/events',
    ]);
  });

  it('creates the integration, the use case, and maps the event into a contact', async () => {
    const [createIntegration, createUseCase, sendEvents] = requests as [
      GuideRequest,
      GuideRequest,
      GuideRequest,
    ];

    // Step 1
    const step1 = await send(createIntegration, token, {});
    expect(step1.status).toBe(201);
    expect(shapeOf(step1.body)).toEqual(shapeOf(responses[0]));
    expect(step1.body).toMatchObject({
      orgId: org,
      name: 'SAP Integration',
      description: 'Customer and contract synchronization from SAP',
      use_cases: [],
    });
    const integrationId = String(step1.body.id);
    expect(integrationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(step1.body.created_at))).not.toBeNaN();

    // Step 2
    const step2 = await send(createUseCase, token, { '{integrationId}': integrationId });
    expect(step2.status).toBe(201);
    expect(step2.body).toMatchObject({
      integrationId,
      name: 'Customer Sync',
      slug: 'customer-sync',
      type: 'inbound',
      enabled: true,
      configuration: JSON.parse(createUseCase.body).configuration,
    });

    // Step 3: the guide's integration id is the one we saved; <uuidv4()> is the reader's correlation id.
    const correlationId = randomUUID();
    const guideIntegrationId = JSON.parse(sendEvents.body.replace('<uuidv4()>', 'x'))
      .integration_id as string;
    const step3 = await send(sendEvents, token, {
      [guideIntegrationId]: integrationId,
      '<uuidv4()>': correlationId,
    });
    expect(step3.status).toBe(200);
    expect(shapeOf(step3.body)).toEqual(shapeOf(responses[1]));
    const [result] = step3.body.results as Array<Record<string, string>>;
    expect(result).toMatchObject({ status: 'success', message: 'Event queued for processing' });
    expect(result!.event_id).toMatch(/^evt_[0-9A-Z]{26}$/);

    // The contact landed, readable by its unique id...
    const found = await eventually(
      async () => {
        const res = await api.request<{ results: Array<Record<string, unknown>> }>(
          'GET',
          '/v1/entity/contact?customer_number=C001',
        );
        return res.status === 200 && res.body.results.length > 0 ? res.body.results : undefined;
      },
      60_000,
      'the contact C001',
    );
    expect(found).toHaveLength(1);
    const contact = found[0]!;
    expect(contact).toMatchObject({
      _schema: 'contact',
      _org: org,
      customer_number: 'C001',
      first_name: 'John',
      last_name: 'Doe',
      email: [{ email: 'john.doe@example.com' }],
    });
    // ...by its nested email value, and by id.
    const byEmail = await api.request<{ results: unknown[] }>(
      'GET',
      '/v1/entity/contact?email=john.doe%40example.com',
    );
    expect(byEmail.body.results).toHaveLength(1);
    const byId = await api.request<{ entity: Record<string, unknown> }>(
      'GET',
      `/v1/entity/contact/${contact._id}`,
    );
    expect(byId.status).toBe(200);
    expect(byId.body.entity.first_name).toBe('John');

    // ...and one processed-entity message carries the request's correlation id.
    const messages = await eventually(
      async () => {
        const m = processed.values<{ meta: { correlation_id: string } }>(
          (v) => v.meta?.correlation_id === correlationId,
        );
        return m.length > 0 ? m : undefined;
      },
      30_000,
      'the processed-entity message',
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      schema_version: 1,
      action: 'created',
      org_id: org,
      entity_schema: 'contact',
      entity_id: contact._id,
      unique_ids: { customer_number: 'C001' },
      entity: { customer_number: 'C001', first_name: 'John' },
      source: { event_id: result!.event_id, integration_id: integrationId },
      meta: { correlation_id: correlationId },
    });

    // The same request again: the deduplication id makes it `skipped`.
    const again = await send(sendEvents, token, {
      [guideIntegrationId]: integrationId,
      '<uuidv4()>': correlationId,
    });
    expect((again.body.results as Array<{ status: string }>)[0]?.status).toBe('skipped');

    // A second event for C001 updates the same entity; it never creates a second one.
    const update = await api.request<{ results: Array<{ status: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: integrationId,
        events: [
          {
            event_type: 'UPDATE',
            object_type: 'customer',
            timestamp: new Date().toISOString(),
            format: 'json',
            payload: {
              customerId: 'C001',
              firstName: 'Johnny',
              lastName: 'Doe',
              email: 'john.doe@example.com',
            },
            deduplication_id: 'customer-C001-update-2',
          },
        ],
      },
    );
    expect(update.body.results[0]?.status).toBe('success');
    const updated = await eventually(
      async () => {
        const res = await api.request<{ results: Array<Record<string, unknown>> }>(
          'GET',
          '/v1/entity/contact?customer_number=C001',
        );
        return res.body.results[0]?.first_name === 'Johnny' ? res.body.results : undefined;
      },
      60_000,
      'the update of C001',
    );
    expect(updated).toHaveLength(1);
    expect(updated[0]!._id).toBe(contact._id);
  });

  it('refuses requests without a valid token', async () => {
    const anonymous = apiClient(stack.baseUrl);
    const res = await anonymous.request<{ code: string; message: string }>('GET', '/v2/integrations');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
    const forged = apiClient(stack.baseUrl, testToken({ ...stack, authSecret: 'x'.repeat(40) }, org));
    expect(
      (await forged.request('POST', '/v2/erp/updates/events', { integration_id: randomUUID(), events: [] }))
        .status,
    ).toBe(401);
  });

  it('keeps organisations apart', async () => {
    const mine = await api.request<{ id: string }>('POST', '/v2/integrations', { name: 'mine' });
    const other = apiClient(stack.baseUrl, testToken(stack, uniqueName('other-org')));
    expect((await other.request('GET', `/v2/integrations/${mine.body.id}`)).status).toBe(404);
    const res = await other.request<{ code: string }>('POST', '/v2/erp/updates/events', {
      integration_id: mine.body.id,
      events: [
        {
          event_type: 'UPDATE',
          object_type: 'customer',
          timestamp: new Date().toISOString(),
          format: 'json',
          payload: { a: 1 },
        },
      ],
    });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('INTEGRATION_NOT_FOUND');
  });

  it('answers readiness through the edge only when every service is ready', async () => {
    const res = await fetch(`${stack.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      'ingest-gateway': true,
      'config-service': true,
      mapper: true,
      'entity-writer': true,
    });
  });
});
