import { randomUUID } from 'node:crypto';
import { MongoStore, queriesOf, type SentQuery, servingIndexes, unservedQueries } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { MongoCountingProxy, resolveStack } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EventQuery,
  EventStore,
  REQUESTS_COLLECTION,
  requestEventIds,
  requestOfEventId,
  type StoredEvent,
} from './index.js';

// Every query the stores below send, read on the wire; the last test holds them to MongoDB's plan.
const sent: SentQuery[] = [];
const proxies: MongoCountingProxy[] = [];
/** A store whose commands pass through a proxy that reads them (`sent`). */
async function connect(url: string): Promise<MongoStore> {
  const proxy = await MongoCountingProxy.start({
    upstream: new URL(url).host,
    onCommand: (body, sequences) => sent.push(...queriesOf(body, sequences)),
  });
  proxies.push(proxy);
  const logger = createLogger({ service: 'event-store-test', level: 'silent' });
  return MongoStore.connect({
    url: proxy.url(new URL(url).pathname.slice(1) || 'erp_hub'),
    logger,
    appName: 'event-store-test',
  });
}
afterAll(async () => {
  for (const p of proxies) await p.close();
});

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
    store = await connect(stack.mongoUrl);
    events = new EventStore(store);
  });
  afterAll(() => store?.close());

  it('keeps the first copy of an event id a takeover reuses (a retry under the same event id)', async () => {
    await events.insert([event(`${org}-1`, '2026-01-01T00:00:01Z', { message: 'first' })]);
    await events.insert(
      [
        event(`${org}-1`, '2026-01-01T00:00:09Z', { message: 'retry' }),
        event(`${org}-1b`, '2026-01-01T00:00:09Z', { message: 'new in the retry' }),
      ],
      { reused: [`${org}-1`] },
    );
    const found = await events.query(org, integration, { limit: 10 });
    expect(found.map((e) => [e.event_id, e.message])).toEqual([
      [`${org}-1b`, 'new in the retry'],
      [`${org}-1`, 'first'],
    ]);
  });

  it('pages newest first by (event_time, event_id), within the organisation and integration only', async () => {
    await events.insert([
      event(`${org}-2`, '2026-01-01T00:00:02Z'),
      event(`${org}-3`, '2026-01-01T00:00:02Z'),
      event(`${org}-4`, '2026-01-01T00:00:03Z'),
      event(`${org}-other`, '2026-01-01T00:00:04Z', { org_id: `${org}-b` }),
    ]);
    const first = await events.query(org, integration, { limit: 2 });
    // The retry's request of the first test is the newest (00:00:09).
    expect(first.map((e) => e.event_id)).toEqual([`${org}-1b`, `${org}-4`, `${org}-3`]); // limit + 1: has_more
    const next = await events.query(org, integration, {
      limit: 2,
      after: { event_time: first[1]!.event_time, event_id: first[1]!.event_id },
    });
    expect(next.map((e) => e.event_id)).toEqual([`${org}-3`, `${org}-2`, `${org}-1`]);
    const many = await events.getMany(org, integration, [`${org}-2`, `${org}-other`]);
    expect([...many.keys()]).toEqual([`${org}-2`]);
  });
});

/** Every page of `q` followed by its cursor, as queryEvents serves them (limit, then has_more). */
async function allPages(
  events: EventStore,
  org: string,
  integration: string,
  q: Omit<EventQuery, 'limit' | 'after'>,
  limit: number,
): Promise<string[][]> {
  const pages: string[][] = [];
  let after: EventQuery['after'];
  for (;;) {
    const found = await events.query(org, integration, { ...q, limit, ...(after ? { after } : {}) });
    const page = found.slice(0, limit);
    pages.push(page.map((e) => e.event_id));
    const last = page[page.length - 1];
    if (found.length <= limit || !last) return pages;
    after = { event_time: last.event_time, event_id: last.event_id };
  }
}

// One document per request (ADR 18), several sharing an event time, old per-event documents beside them:
// every filter and page must answer as one document per event did (the order of (event_time, event_id)).
describe('the stored events, one document per request', () => {
  const stack = resolveStack();
  let store: MongoStore;
  let events: EventStore;
  const org = `requests-${randomUUID()}`;
  const integration = randomUUID();
  const all: StoredEvent[] = [];
  // `inbound_events` is keyed by event id alone: this run's old documents get ids of their own.
  const OLD = `-old-${randomUUID().slice(0, 8)}`;

  /** A request of `n` events at `time`: ids `<tag>-<i>`, two correlation ids, two event types, two use cases. */
  const request = (tag: string, time: string, n: number): StoredEvent[] =>
    Array.from({ length: n }, (_, i) => ({
      event_id: `evt_${tag}-${String(i).padStart(2, '0')}`,
      org_id: org,
      integration_id: integration,
      event_time: time,
      event_type: i % 2 === 0 ? 'UPDATE' : 'CREATE',
      object_type: i % 3 === 0 ? 'customer' : 'order',
      timestamp: time,
      format: 'json' as const,
      payload: JSON.stringify({ tag, i }),
      correlation_id: `corr-${i % 2}`,
      use_case_id: i % 4 === 0 ? 'uc-a' : i === 5 ? null : 'uc-b',
      status: i === 5 ? ('error' as const) : ('success' as const),
      message: `${tag} ${i}`,
    }));

  /** The answer of one document per event: filter, then sort by (event_time, event_id), newest first. */
  const expected = (q: Omit<EventQuery, 'limit' | 'after'>) =>
    all
      .filter(
        (e) =>
          (!q.event_id || e.event_id === q.event_id) &&
          (!q.event_type || e.event_type === q.event_type) &&
          (!q.correlation_id || e.correlation_id === q.correlation_id) &&
          (!q.object_type || e.object_type === q.object_type) &&
          (!q.use_case_id || e.use_case_id === q.use_case_id),
      )
      .sort((a, b) => {
        // Binary order, as the database compares strings.
        const [x, y] =
          a.event_time === b.event_time ? [a.event_id, b.event_id] : [a.event_time, b.event_time];
        return x < y ? 1 : x > y ? -1 : 0;
      })
      .map((e) => e.event_id);

  beforeAll(async () => {
    store = await connect(stack.mongoUrl);
    events = new EventStore(store);
    const t1 = '2026-02-01T00:00:01.000Z';
    const t2 = '2026-02-01T00:00:02.000Z';
    const t3 = '2026-02-01T00:00:03.000Z';
    // Three requests at t2 (their ids interleave), one before, one after; and another integration's.
    const requests = [
      request('b', t2, 7),
      request('a', t2, 5),
      request('c', t2, 9),
      request('z', t1, 6),
      request('m', t3, 4),
    ];
    for (const r of requests) {
      await events.insert(r);
      all.push(...r);
    }
    await events.insert(request('x', t3, 3).map((e) => ({ ...e, integration_id: randomUUID() })));
    // A request document as written before its events were one JSON text: the events as an array.
    const arrayForm = request('r', t1, 3);
    await store.collection(REQUESTS_COLLECTION).insertOne({
      _id: randomUUID(),
      org_id: org,
      integration_id: integration,
      event_time: t1,
      expires_at: new Date(Date.now() + 3_600_000),
      event_ids: arrayForm.map((e) => e.event_id),
      correlation_ids: ['corr-0', 'corr-1'],
      event_types: ['UPDATE', 'CREATE'],
      object_types: ['customer', 'order'],
      use_case_ids: ['uc-a', 'uc-b'],
      events: arrayForm.map(({ org_id: _o, integration_id: _i, event_time: _t, ...item }) => item),
    } as never);
    all.push(...arrayForm);
    // Per-event documents as the version before ADR 18 stored them (`inbound_events`, `_id` = event id),
    // between and beside the requests: read until they expire.
    const legacy = [...request('b', t2, 3), ...request('l', t1, 2)].map((e) => ({
      ...e,
      event_id: `${e.event_id}${OLD}`,
    }));
    await store.collection('inbound_events').insertMany(
      legacy.map(({ event_id, ...rest }) => ({
        _id: event_id,
        ...rest,
        expires_at: new Date(Date.now() + 3_600_000),
      })) as never,
    );
    all.push(...legacy);
    // An expired request and an expired old document: never shown.
    await new EventStore(store, -1).insert(request('gone', t3, 2));
    await store.collection('inbound_events').insertOne({
      ...request('gone-old', t3, 1)[0]!,
      _id: `evt_gone${OLD}`,
      expires_at: new Date(Date.now() - 1000),
    } as never);
  });
  afterAll(() => store?.close());

  it('stores one document per request', async () => {
    const docs = await store
      .collection(REQUESTS_COLLECTION)
      .countDocuments({ org_id: org, integration_id: integration });
    expect(docs).toBe(7); // five requests, one in the array form and the expired one
    const doc = await store
      .collection(REQUESTS_COLLECTION)
      .findOne({ org_id: org, integration_id: integration, event_ids: 'evt_b-00' });
    // The events are one JSON text: no query looks inside them, and a string costs FerretDB far less.
    expect(typeof doc?.events).toBe('string');
    expect(JSON.parse(doc?.events as string)).toHaveLength(7);
  });

  it('pages through requests sharing an event time, and the old documents, in (event_time, event_id) order', async () => {
    for (const limit of [1, 3, 25]) {
      const pages = await allPages(events, org, integration, {}, limit);
      expect(pages.flat(), `limit ${limit}`).toEqual(expected({}));
      expect(
        pages.slice(0, -1).every((p) => p.length === limit),
        `limit ${limit}`,
      ).toBe(true);
    }
  }, 60_000);

  it('filters event by event, not request by request, with the same pages', async () => {
    const filters: Array<Omit<EventQuery, 'limit' | 'after'>> = [
      { event_type: 'CREATE' },
      { correlation_id: 'corr-1' },
      { object_type: 'customer' },
      { use_case_id: 'uc-a' },
      { event_type: 'UPDATE', object_type: 'customer' },
      { correlation_id: 'corr-0', use_case_id: 'uc-b' },
      { event_id: 'evt_c-04' },
      { event_id: `evt_b-01${OLD}` },
      { event_id: 'evt_gone-00' },
      { event_type: 'DELETE' },
    ];
    for (const f of filters) {
      const pages = await allPages(events, org, integration, f, 3);
      expect(pages.flat(), JSON.stringify(f)).toEqual(expected(f));
    }
  }, 60_000);

  it('finds events by id for a replay, from requests and old documents, in this integration only', async () => {
    const found = await events.getMany(org, integration, [
      'evt_c-08',
      `evt_l-01${OLD}`,
      'evt_r-01',
      'evt_x-00',
      'evt_gone-01',
      'nope',
    ]);
    expect([...found.keys()].sort()).toEqual(['evt_c-08', `evt_l-01${OLD}`, 'evt_r-01']);
    expect(found.get('evt_r-01')).toEqual(all.find((e) => e.event_id === 'evt_r-01'));
    expect(found.get('evt_c-08')).toEqual(all.find((e) => e.event_id === 'evt_c-08'));
    expect(found.get(`evt_l-01${OLD}`)).toEqual(all.find((e) => e.event_id === `evt_l-01${OLD}`));
  });
});

// A request may carry MAX_EVENTS_PER_REQUEST payloads of MAX_PAYLOAD_BYTES: more than MongoDB's 16 MiB.
describe('a request too big for one document', () => {
  const stack = resolveStack();
  let store: MongoStore;
  const org = `big-${randomUUID()}`;
  const integration = randomUUID();

  beforeAll(async () => {
    store = await connect(stack.mongoUrl);
  });
  afterAll(() => store?.close());

  it('is split in request order over documents under 16 MiB, all found, all removed together', async () => {
    const events = new EventStore(store);
    const time = '2026-03-01T00:00:00.000Z';
    // 20 payloads of 1 MiB: 20 MiB of payload, as one request.
    const ids = requestEventIds();
    const big = Array.from({ length: 20 }, () => ({
      event_id: ids.next(),
      org_id: org,
      integration_id: integration,
      event_time: time,
      timestamp: time,
      format: 'json' as const,
      payload: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }),
      correlation_id: randomUUID(),
      use_case_id: 'u',
      status: 'success' as const,
    }));
    const requestId = await events.insert(big, { requestId: ids.requestId });
    expect(requestId).toBe(ids.requestId);
    const docs = await store
      .collection<{ _id: string; event_ids: string[] }>(REQUESTS_COLLECTION)
      .find({ org_id: org }, { projection: { event_ids: 1 } })
      .toArray();
    expect(docs.length).toBeGreaterThan(1);
    expect(docs.map((d) => d._id).sort()).toEqual(
      docs.map((_, i) => (i === 0 ? requestId : `${requestId}/${i}`)).sort(),
    );
    const found = await events.query(org, integration, { limit: 25 });
    expect(found.map((e) => e.event_id)).toEqual(big.map((e) => e.event_id).reverse());
    expect(found[0]!.payload).toBe(big[19]!.payload);
    // Found by id from the first document's parts count: the first and last events, and one by query.
    const some = await events.getMany(org, integration, [big[0]!.event_id, big[19]!.event_id]);
    expect([...some.keys()].sort()).toEqual([big[0]!.event_id, big[19]!.event_id]);
    expect(
      (await events.query(org, integration, { limit: 25, event_id: big[12]!.event_id })).map(
        (e) => e.event_id,
      ),
    ).toEqual([big[12]!.event_id]);
    await events.remove(requestId);
    expect(await events.query(org, integration, { limit: 25 })).toEqual([]);
  }, 60_000);
});

// Event ids numbered under their request's id (requestEventIds): an event is read by its document's `_id`,
// which FerretDB answers without reading the collection; other ids by the `event_ids` arrays.
describe('event ids that name their request', () => {
  const stack = resolveStack();
  let store: MongoStore;
  const org = `ids-${randomUUID()}`;
  const integration = randomUUID();

  beforeAll(async () => {
    store = await connect(stack.mongoUrl);
  });
  afterAll(() => store?.close());

  it('are ULID-shaped, sortable within the request, and give its id back', () => {
    const ids = requestEventIds();
    const three = [ids.next(), ids.next(), ids.next()];
    for (const id of three) {
      expect(id).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(requestOfEventId(id)).toBe(ids.requestId);
    }
    expect([...three].sort()).toEqual(three);
    expect(requestEventIds().requestId).not.toBe(ids.requestId);
    expect(requestOfEventId('evt_not-one')).toBeUndefined();
  });

  it('finds an event by its request document’s _id, and one a takeover stored by `<its request>/t`', async () => {
    const events = new EventStore(store);
    const time = '2026-04-01T00:00:00.000Z';
    const ids = requestEventIds();
    const dead = requestEventIds(); // a request that numbered an event, claimed it and died before storing
    const taken = dead.next();
    const mine = [ids.next(), ids.next(), taken];
    const stored = (event_id: string): StoredEvent => ({
      event_id,
      org_id: org,
      integration_id: integration,
      event_time: time,
      timestamp: time,
      format: 'json' as const,
      payload: '{}',
      correlation_id: 'c',
      use_case_id: 'u',
      status: 'success' as const,
    });
    await events.insert(mine.map(stored), { requestId: ids.requestId, reused: [taken] });
    const docs = await store
      .collection<{ _id: string; event_ids: string[] }>(REQUESTS_COLLECTION)
      .find({ org_id: org })
      .toArray();
    expect(docs.map((d) => [d._id, d.event_ids]).sort()).toEqual(
      [
        [ids.requestId, mine.slice(0, 2)],
        [`${dead.requestId}/t`, [taken]],
      ].sort(),
    );
    // A second taker of the same id keeps the first copy.
    const again = requestEventIds();
    await events.insert([{ ...stored(taken), message: 'second' }], {
      requestId: again.requestId,
      reused: [taken],
    });
    expect((await events.getMany(org, integration, [taken])).get(taken)?.message).toBeUndefined();
    // The arrays no longer name the first event: only its id's request can find it now.
    await store
      .collection<{ _id: string; event_ids: string[] }>(REQUESTS_COLLECTION)
      .updateOne({ _id: ids.requestId }, { $set: { event_ids: mine.slice(1, 2) } });
    expect([...(await events.getMany(org, integration, [mine[0]!])).keys()]).toEqual([mine[0]]);
    const found = await events.getMany(org, integration, [...mine, ids.next(), requestEventIds().next()]);
    expect([...found.keys()].sort()).toEqual([...mine].sort());
    expect(
      (await events.query(org, integration, { limit: 25, event_id: taken })).map((e) => e.event_id),
    ).toEqual([taken]);
    expect(await events.getMany(`${org}-other`, integration, mine)).toEqual(new Map());
  });
});

// ADR 18 on MongoDB, where no server runs here: every query the tests above made the store send starts
// from an index of the plan (libs/mongo plan.ts; index-coverage.ts says what "starts from" means), so none
// reads the stored requests, which grow with history, from end to end.
describe('on MongoDB', () => {
  it('sends only queries that an index of the plan serves', () => {
    // Every planned collection (the stored requests and the per-event store before ADR 18).
    expect(unservedQueries(sent)).toEqual([]);
    const ours = sent.filter((q) => q.collection === REQUESTS_COLLECTION);
    // The best index of each (the longest prefix of its key the filter bounds).
    const used = new Set(ours.map((q) => servingIndexes(q.collection, q.filter)[0]));
    expect([...used]).toEqual(
      expect.arrayContaining([
        '_id_',
        'org_integration_time',
        'org_integration_event_ids',
        'org_integration_correlation_time',
      ]),
    );
  });
});
