import { randomUUID } from 'node:crypto';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { apiClient, resolveStack, testToken, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractErrors } from './contract.js';

const stack = resolveStack();

// docs/adr/0018: the version before stored one `inbound_events` document per event and one
// `dedupe_accepted` marker per claim. After the upgrade, what it stored must still be listed, paged and
// replayed through the API, and a deduplication id it accepted must still be `skipped`, within their windows.
describe('stored events and deduplication ids written by the version before ADR 18', () => {
  const logger = createLogger({ service: 'events-upgrade-test', level: 'silent' });
  let store: MongoStore;
  const org = uniqueName('upgrade-org');
  const api = apiClient(stack.baseUrl, testToken(stack, org));
  let integrationId = '';
  let useCaseId = '';
  const old = (i: number) => `evt_00OLD${randomUUID().replaceAll('-', '').slice(0, 12)}${i}`;
  const oldIds = [old(0), old(1), old(2)];

  beforeAll(async () => {
    store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'events-upgrade-test' });
    const integration = await api.request<{ id: string; use_cases: Array<{ id: string }> }>(
      'POST',
      '/v2/integrations',
      {
        name: 'upgrade',
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
    integrationId = integration.body.id;
    useCaseId = integration.body.use_cases[0]!.id;
    // As the version before wrote them: one document per event (two sharing an event time), and for
    // `before-upgrade-1` its claim (left pending, long stale) and a marker with the claim's own id.
    const now = Date.now();
    const expires = new Date(now + 3_600_000);
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    const times = [at(60_000), at(60_000), at(30_000)];
    await store.db.collection('inbound_events').insertMany(
      oldIds.map((id, i) => ({
        _id: id,
        org_id: org,
        integration_id: integrationId,
        event_time: times[i],
        event_type: 'UPDATE',
        object_type: 'customer',
        timestamp: '2024-01-15T10:35:00Z',
        format: 'json',
        payload: JSON.stringify({ id: `OLD${i}` }),
        ...(i === 2 ? { deduplication_id: 'before-upgrade-1' } : {}),
        correlation_id: `corr-old-${i}`,
        use_case_id: useCaseId,
        status: 'success',
        message: 'Event queued for processing',
        expires_at: expires,
      })) as never,
    );
    const claimId = `${org}:${integrationId}:before-upgrade-1`;
    await store.db.collection('dedupe').insertOne({
      _id: claimId,
      org_id: org,
      integration_id: integrationId,
      state: 'pending',
      owner: randomUUID(),
      claimed_at: new Date(now - 30_000),
      expires_at: expires,
      event_id: oldIds[2],
    } as never);
    await store.db.collection('dedupe_accepted').insertOne({ _id: claimId, expires_at: expires } as never);
  });
  afterAll(() => store?.close());

  it('skips an id accepted before, lists old and new events in one order, and replays an old one', async () => {
    const sent = await api.request<{ results: Array<{ event_id: string; status: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: integrationId,
        events: ['before-upgrade-1', 'after-upgrade-1'].map((deduplication_id, i) => ({
          event_type: 'UPDATE',
          object_type: 'customer',
          timestamp: '2024-01-15T10:35:00Z',
          format: 'json',
          payload: { id: `NEW${i}` },
          deduplication_id,
        })),
      },
    );
    expect(sent.body.results.map((r) => r.status)).toEqual(['skipped', 'success']);
    const newId = sent.body.results[1]!.event_id;

    // Pages of two across both layouts: newest first by (event_time, event_id), each event once.
    const path = `/v1/integrations/${integrationId}/events`;
    const seen: string[] = [];
    let cursor: unknown;
    for (let page = 0; page < 5; page++) {
      const answer = await api.request<{
        data: Array<{ event_id: string }>;
        next_cursor: unknown;
        has_more: boolean;
      }>('POST', path, { limit: 2, ...(cursor ? { cursor } : {}) });
      expect(answer.status).toBe(200);
      expect(contractErrors('queryEvents', 200, answer.body)).toEqual([]);
      seen.push(...answer.body.data.map((e) => e.event_id));
      if (!answer.body.has_more) break;
      cursor = answer.body.next_cursor;
    }
    const [same1, same2] = [...oldIds.slice(0, 2)].sort().reverse();
    expect(seen).toEqual([newId, oldIds[2], same1, same2]);
    const one = await api.request<{ data: Array<{ event_id: string; payload: string }> }>('POST', path, {
      event_id: oldIds[1],
    });
    expect(one.body.data).toEqual([
      expect.objectContaining({ event_id: oldIds[1], payload: '{"id":"OLD1"}' }),
    ]);

    const replay = await api.request<{
      results: Array<{ event_id: string; status: string; replay_event_id?: string }>;
    }>('POST', `${path}/replay`, { event_ids: [oldIds[0]] });
    expect(replay.body.results).toEqual([
      expect.objectContaining({
        event_id: oldIds[0],
        status: 'success',
        replay_event_id: expect.any(String),
      }),
    ]);
    const replayed = await api.request<{ data: Array<{ event_id: string; replay_of?: string }> }>(
      'POST',
      path,
      { event_id: replay.body.results[0]!.replay_event_id },
    );
    expect(replayed.body.data).toEqual([expect.objectContaining({ replay_of: oldIds[0] })]);
  });
});
