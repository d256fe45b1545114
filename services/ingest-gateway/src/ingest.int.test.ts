import { ConfigView, Topics } from '@hub/contracts';
import { EventStore } from '@hub/event-store';
import type { MessageProducer, OutgoingMessage, TopicMirror } from '@hub/kafka';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { MongoFaultInjector, resolveStack, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DedupeStore } from './dedupe.js';
import { type IngestDeps, ingest } from './ingest.js';

/** The configuration view of one integration of `orgId` with one enabled inbound use case, `customer`. */
function viewWithOneUseCase(integrationId: string, orgId: string): ConfigView {
  const view = new ConfigView();
  view.apply(
    integrationId,
    JSON.stringify({
      schema_version: 1,
      integration: { id: integrationId, orgId, name: 'n', created_at: 'x', updated_at: 'x', revision: 1 },
      use_cases: [
        {
          id: crypto.randomUUID(),
          integrationId,
          name: 'customer',
          slug: 'customer',
          type: 'inbound',
          enabled: true,
          created_at: 'x',
          updated_at: 'x',
          revision: 1,
        },
      ],
    }),
  );
  return view;
}

// Invariant 6 against the real database: when the hand-over to Kafka fails, the request gets an error,
// and a retry of the same event is accepted at once under the same event id, never reported `skipped`.
// The producer is the one thing replaced: a broker that fails on demand (the real broker boundary, where
// the broker writes and the answer is lost, is tests/e2e/src/ambiguous-produce.test.ts).
describe('ingest when the broker fails', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'ingest-test', level: 'silent' });
  let store: MongoStore;
  let failing = true;
  const sent: OutgoingMessage[] = [];
  const producer = {
    send: async (messages: OutgoingMessage[]) => {
      if (failing) throw new Error('broker unreachable');
      sent.push(...messages);
    },
  } as unknown as MessageProducer;
  const orgId = uniqueName('org');
  const integrationId = crypto.randomUUID();
  const view = viewWithOneUseCase(integrationId, orgId);
  let deps: IngestDeps;

  beforeAll(async () => {
    store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'ingest-test' });
    const events = new EventStore(store);
    deps = {
      config: view,
      mirror: { catchUp: async () => undefined } as unknown as TopicMirror,
      dedupe: new DedupeStore(store, { windowMs: 3_600_000, staleAfterMs: 30_000, waitMs: 2_000 }),
      events,
      producer,
      logger,
      limits: { maxEvents: 1000, maxPayloadBytes: 1_000_000, catchUpTimeoutMs: 1000 },
    };
  });
  afterAll(() => store?.close());

  const request = () => ({
    orgId,
    target: { integrationId },
    events: [
      {
        eventName: 'customer',
        eventType: 'UPDATE',
        timestamp: '2024-01-15T10:35:00Z',
        format: 'json' as const,
        payload: { id: 'X1' },
        deduplicationId: 'retry-me-1',
      },
    ],
  });

  it('answers 503, then accepts the retry at once under the same event id, then skips a duplicate', async () => {
    await expect(ingest(request(), deps)).rejects.toMatchObject({
      statusCode: 503,
      code: 'BROKER_UNAVAILABLE',
    });
    expect(sent).toHaveLength(0);
    // The send's outcome is unknown (the broker may have written it): the event stays stored.
    const stored = await new EventStore(store).query(orgId, integrationId, { limit: 25 });
    expect(stored).toHaveLength(1);

    failing = false;
    // The claim was kept in doubt: the retry takes it over at once (the claim is far from stale and the
    // wait for a concurrent holder is 2 s: without the mark the retry would be answered busy).
    const retry = await ingest(request(), deps);
    expect(retry.results[0]).toMatchObject({ status: 'success', event_id: stored[0]!.event_id });
    const on = (topic: string) => sent.filter((m) => m.topic === topic);
    expect(on(Topics.inboundEvents)).toHaveLength(1);
    expect((on(Topics.inboundEvents)[0]!.value as { event_id: string }).event_id).toBe(stored[0]!.event_id);

    // The retry's event id was stored by the first attempt: queries show it once, as first stored.
    const after = await new EventStore(store).query(orgId, integrationId, { limit: 25 });
    expect(after.map((e) => [e.event_id, e.event_time])).toEqual([
      [stored[0]!.event_id, stored[0]!.event_time],
    ]);

    const duplicate = await ingest(request(), deps);
    expect(duplicate.results[0]!.status).toBe('skipped');
    expect(on(Topics.inboundEvents)).toHaveLength(1);
    // Each answered event has its monitoring record, in the same batch as the events.
    expect(on(Topics.monitoringEvents).map((m) => (m.value as { stage: string }).stage)).toEqual([
      'accepted',
      'skipped',
    ]);
  });

  it('releases the claims when storing the events failed (nothing was sent)', async () => {
    const broken = {
      insert: async () => {
        throw new Error('database unreachable');
      },
      remove: async () => {
        throw new Error('database unreachable');
      },
    } as unknown as EventStore;
    const events = [{ ...request().events[0]!, deduplicationId: 'store-failed-1' }];
    await expect(ingest({ ...request(), events }, { ...deps, events: broken })).rejects.toMatchObject({
      statusCode: 503,
      code: 'STORE_UNAVAILABLE',
    });
    const before = sent.length;
    const retry = await ingest({ ...request(), events }, deps);
    expect(retry.results[0]!.status).toBe('success');
    expect(sent.length).toBeGreaterThan(before);
  });

  it('takes over the claim of a request that died before answering, keeping its event id', async () => {
    // A gateway killed between claiming the deduplication id and answering: its event may or may not be
    // on Kafka. The retry must be accepted (not `skipped`) under the same event id, so that if the first
    // copy did reach Kafka the second is a redelivery the pipeline ignores, not a second change.
    const dedupe = new DedupeStore(store, { windowMs: 3_600_000, staleAfterMs: 300, waitMs: 2_000 });
    const died = await dedupe.claim(orgId, integrationId, 'died-1', 'ev-of-the-dead-request');
    expect(died.kind).toBe('claimed');
    await new Promise((r) => setTimeout(r, 400));
    const before = sent.length;
    const retry = await ingest(
      { ...request(), events: [{ ...request().events[0]!, deduplicationId: 'died-1' }] },
      { ...deps, dedupe },
    );
    expect(retry.results[0]).toMatchObject({ status: 'success', event_id: 'ev-of-the-dead-request' });
    // The event and its monitoring record, both under the dead request's event id.
    expect(sent.slice(before).map((m) => [m.topic, (m.value as { event_id: string }).event_id])).toEqual([
      [Topics.inboundEvents, 'ev-of-the-dead-request'],
      [Topics.monitoringEvents, 'ev-of-the-dead-request'],
    ]);
    const again = await ingest(
      { ...request(), events: [{ ...request().events[0]!, deduplicationId: 'died-1' }] },
      { ...deps, dedupe },
    );
    expect(again.results[0]!.status).toBe('skipped');
  });

  it('writes one event-store document and one acceptance marker per request, besides a claim per id (ADR 18)', async () => {
    const base = request().events[0]!;
    const answer = await ingest(
      {
        ...request(),
        events: [
          { ...base, deduplicationId: 'per-request-1' },
          { ...base, deduplicationId: 'per-request-2' },
          { ...base, deduplicationId: undefined },
          { ...base, format: 'xml' as const, payload: '<not-closed', deduplicationId: undefined },
        ],
      },
      deps,
    );
    expect(answer.results.map((r) => r.status)).toEqual(['success', 'success', 'success', 'error']);
    const ids = answer.results.map((r) => r.event_id);
    const docs = await store
      .collection<{ _id: string; event_ids: string[] }>('inbound_requests')
      .find({ org_id: orgId, event_ids: { $in: ids } })
      .toArray();
    // One document, all four events in it (those answered `error` were judged first).
    expect(docs.map((d) => [...d.event_ids].sort())).toEqual([[...ids].sort()]);
    const claims = await store
      .collection<{ _id: string; owner: string }>('dedupe')
      .find({ _id: { $in: ['per-request-1', 'per-request-2'].map((d) => `${orgId}:${integrationId}:${d}`) } })
      .toArray();
    expect(claims.map((c) => c.owner)).toEqual([docs[0]!._id, docs[0]!._id]);
    const markers = await store
      .collection<{ _id: string }>('dedupe_accepted')
      .find({ _id: { $in: [docs[0]!._id, ...claims.map((c) => c._id)] } })
      .toArray();
    expect(markers.map((m) => m._id)).toEqual([docs[0]!._id]);
    const stored = await new EventStore(store).getMany(orgId, integrationId, ids);
    expect(ids.map((id) => stored.get(id)?.status)).toEqual(['success', 'success', 'success', 'error']);
  });

  it('accepts one id given twice in one request once, and skips the second without claiming it again', async () => {
    const before = sent.length;
    const event = { ...request().events[0]!, deduplicationId: 'twice-in-one-1' };
    const answer = await ingest({ ...request(), events: [event, { ...event, payload: { id: 'X2' } }] }, deps);
    expect(answer.results.map((r) => [r.status, r.message])).toEqual([
      ['success', 'Event queued for processing'],
      ['skipped', 'duplicate deduplication_id in this request'],
    ]);
    expect(sent.slice(before).filter((m) => m.topic === Topics.inboundEvents)).toHaveLength(1);
  });
});

// The acceptance markers written after the hand-over (`acceptMany`) fail: the database refuses that one
// insert (MongoDB's failCommand fail point, through the fault injector in front of FerretDB). The events
// are on Kafka by then, so the request must still be answered `success`; a duplicate must never become a
// second event (a new event id) and is accepted, once its claim is stale, under the first event id
// (applied once downstream), after which it is `skipped`.
describe('ingest when the acceptance markers cannot be written', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'ingest-accept-test', level: 'silent' });
  let injector: MongoFaultInjector;
  let direct: MongoStore;
  let injected: MongoStore;
  const sent: OutgoingMessage[] = [];
  const producer = {
    send: async (messages: OutgoingMessage[]) => {
      sent.push(...messages);
    },
  } as unknown as MessageProducer;
  const orgId = uniqueName('org');
  const integrationId = crypto.randomUUID();
  const view = viewWithOneUseCase(integrationId, orgId);

  beforeAll(async () => {
    injector = await MongoFaultInjector.start({ upstream: new URL(stack.mongoUrl).host });
    direct = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'ingest-accept-test' });
    injected = await MongoStore.connect({ url: injector.url(), logger, appName: 'ingest-accept-gateway' });
  });
  afterAll(async () => {
    await injected?.close();
    await direct?.close();
    await injector?.close();
  });

  it('answers success, keeps the event, and never makes a duplicate a second event', async () => {
    const deps: IngestDeps = {
      config: view,
      mirror: { catchUp: async () => undefined } as unknown as TopicMirror,
      // A claim left pending goes stale after 1 s (30 s in production); a concurrent holder is waited 300 ms.
      dedupe: new DedupeStore(injected, { windowMs: 3_600_000, staleAfterMs: 1_000, waitMs: 300 }),
      events: new EventStore(injected),
      producer,
      logger,
      limits: { maxEvents: 1000, maxPayloadBytes: 1_000_000, catchUpTimeoutMs: 1000 },
    };
    const event = (deduplicationId: string) => ({
      eventName: 'customer',
      eventType: 'UPDATE',
      timestamp: '2024-01-15T10:35:00Z',
      format: 'json' as const,
      payload: { id: deduplicationId },
      deduplicationId,
    });
    const post = (...ids: string[]) =>
      ingest({ orgId, target: { integrationId }, events: ids.map(event) }, deps);
    const inbound = () =>
      sent
        .filter((m) => m.topic === Topics.inboundEvents)
        .map((m) => (m.value as { event_id: string }).event_id);

    injector.failCommand({
      mode: { times: 1 },
      data: { failCommands: ['insert'], collection: 'dedupe_accepted', errorCode: 1 },
    });
    const first = await post('accept-fails-1', 'accept-fails-2');
    expect(injector.failPointEntered).toBe(1);
    // Both events were handed over: answered success, stored, sent once each.
    expect(first.results.map((r) => r.status)).toEqual(['success', 'success']);
    const eventIds = first.results.map((r) => r.event_id);
    expect(inbound()).toEqual(eventIds);
    const stored = await new EventStore(direct).query(orgId, integrationId, { limit: 25 });
    expect(stored.map((e) => e.event_id).sort()).toEqual([...eventIds].sort());

    // A duplicate at once: the first request's claim is held, so it is asked to retry (not a new event).
    const early = await post('accept-fails-1');
    expect(early.results[0]).toMatchObject({ status: 'error' });
    expect(inbound()).toEqual(eventIds);
    // No marker was written: the claims stay pending, never accepted without their events.
    const claims = await direct
      .collection<{ _id: string; owner: string; state: string }>('dedupe')
      .find({
        _id: { $in: ['accept-fails-1', 'accept-fails-2'].map((d) => `${orgId}:${integrationId}:${d}`) },
      })
      .toArray();
    expect(claims.map((c) => c.state)).toEqual(['pending', 'pending']);
    const markers = await direct.collection<{ _id: string }>('dedupe_accepted').countDocuments({
      _id: { $in: [...claims.map((c) => c.owner), ...claims.map((c) => c._id)] },
    });
    expect(markers).toBe(0);

    // Once the claim is stale the duplicate is taken over under the first event id: a redelivery.
    await new Promise((r) => setTimeout(r, 1_200));
    const retry = await post('accept-fails-1');
    expect(retry.results[0]).toMatchObject({ status: 'success', event_id: eventIds[0] });
    expect(inbound()).toEqual([...eventIds, eventIds[0]]);
    // That request's markers were written: the next duplicate is skipped.
    expect((await post('accept-fails-1')).results[0]!.status).toBe('skipped');
    expect(inbound()).toHaveLength(3);
  });
});
