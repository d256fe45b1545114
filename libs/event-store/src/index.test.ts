import { randomUUID } from 'node:crypto';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { resolveStack } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore, type StoredEvent } from './index.js';

// Against the real database: what a query and a replay find after the gateway's writes.
describe('the stored events', () => {
  const stack = resolveStack();
  let store: MongoStore;
  let events: EventStore;
  const org = `events-${randomUUID()}`;
  const integration = randomUUID();
  const event = (id: string, time: string, more: Partial<StoredEvent> = {}): StoredEvent => ({
    event_id: id,
    org_id: org,
    integration_id: integration,
    event_time: time,
    timestamp: time,
    format: 'json',
    payload: '{}',
    correlation_id: `c-${id}`,
    use_case_id: 'u',
    status: 'success',
    ...more,
  });

  beforeAll(async () => {
    const logger = createLogger({ service: 'event-store-test', level: 'silent' });
    store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'event-store-test' });
    events = new EventStore(store);
  });
  afterAll(() => store?.close());

  it('keeps the first copy of an event id stored twice (a retry under the same event id)', async () => {
    await events.insert([event(`${org}-1`, '2026-01-01T00:00:01Z', { message: 'first' })]);
    await events.insert([event(`${org}-1`, '2026-01-01T00:00:09Z', { message: 'retry' })]);
    const found = await events.query(org, integration, { limit: 10 });
    expect(found.map((e) => [e.event_id, e.message])).toEqual([[`${org}-1`, 'first']]);
  });

  it('pages newest first by (event_time, event_id), within the organisation and integration only', async () => {
    await events.insert([
      event(`${org}-2`, '2026-01-01T00:00:02Z'),
      event(`${org}-3`, '2026-01-01T00:00:02Z'),
      event(`${org}-4`, '2026-01-01T00:00:03Z'),
      event(`${org}-other`, '2026-01-01T00:00:04Z', { org_id: `${org}-b` }),
    ]);
    const first = await events.query(org, integration, { limit: 2 });
    expect(first.map((e) => e.event_id)).toEqual([`${org}-4`, `${org}-3`, `${org}-2`]); // limit + 1: has_more
    const next = await events.query(org, integration, {
      limit: 2,
      after: { event_time: first[1]!.event_time, event_id: first[1]!.event_id },
    });
    expect(next.map((e) => e.event_id)).toEqual([`${org}-2`, `${org}-1`]);
    const many = await events.getMany(org, integration, [`${org}-2`, `${org}-other`]);
    expect([...many.keys()]).toEqual([`${org}-2`]);
  });
});
