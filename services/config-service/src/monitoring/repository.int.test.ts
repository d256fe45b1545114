import { type MonitoringRecord, monitoringRecord, nameUuid } from '@hub/contracts';
import {
  MongoStore,
  prepareLayout,
  queriesOf,
  removeExpired,
  type SentQuery,
  servingIndexes,
  unservedQueries,
} from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { MongoCountingProxy, resolveStack, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKETS_COLLECTION, type Keyset, LEGACY_COLLECTION, type RecordFilter } from './buckets.js';
import { BucketStoredMeanwhileError, MonitoringRepository } from './repository.js';

// The monitoring store on the real database (FerretDB locally), ADR 19: buckets of a partition's records,
// each record once (redeliveries of the topic, records produced again, a topic created again), every query
// answering as the per-record collection of ADR 6 did (which stays readable: the legacy documents are
// written here as the version before wrote them, and the same queries are asked of both).
describe('MonitoringRepository', { timeout: 120_000 }, () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'monitoring-test', level: 'silent' });
  let store: MongoStore;
  let repository: MonitoringRepository;
  // Every query this file's repositories send, read on the wire (the last test holds them to MongoDB's plan).
  let proxy: MongoCountingProxy;
  const sent: SentQuery[] = [];
  // Partitions no sink of a running stack uses, one per test.
  let nextPartition = 100_000 + Math.floor(Math.random() * 1_000_000) * 10;
  const partition = () => nextPartition++;
  const org = uniqueName('mon-repo');
  const record = (
    eventId: string,
    createdAt = new Date().toISOString(),
    more: Partial<MonitoringRecord> = {},
  ) => ({
    ...monitoringRecord({
      org_id: org,
      integration_id: 'I',
      event_id: eventId,
      correlation_id: 'C',
      use_case_id: 'U',
      stage: 'accepted',
      level: 'success',
      final: false,
      detail: { $relation: [{ entity_id: 'x' }], _$kept: 1 },
      created_at: createdAt,
    }),
    ...more,
  });
  /** Stores records at consecutive offsets from `first`, as the sink does with one chunk. */
  const storeAt = (
    repo: MonitoringRepository,
    p: number,
    first: number,
    records: MonitoringRecord[],
    now?: number,
  ) =>
    repo.store(
      {
        partition: p,
        first,
        next: first + records.length,
        records: records.map((r, i) => ({ offset: first + i, record: r })),
      },
      now,
    );
  const eventsOf = async (o: string, f: RecordFilter = {}) =>
    (await repository.chronological(o, 'I', f, 1_000)).map((r) => [r.event_id, r.message]);

  beforeAll(async () => {
    // A database of its own: FerretDB reads every document of a collection for these queries, and the
    // shared one holds every earlier run's.
    proxy = await MongoCountingProxy.start({
      upstream: new URL(stack.mongoUrl).host,
      onCommand: (body, sequences) => sent.push(...queriesOf(body, sequences)),
    });
    store = await MongoStore.connect({
      url: proxy.url(),
      database: uniqueName('monitoring_test').replace('-', '_'),
      logger,
      appName: 'monitoring-test',
    });
    repository = new MonitoringRepository(store, 30);
    await prepareLayout(store, [BUCKETS_COLLECTION, LEGACY_COLLECTION], 'apply');
  });
  afterAll(async () => {
    await store?.db.dropDatabase();
    await store?.close();
    await proxy?.close();
  });

  it('stores a record once, whatever the redeliveries, and shows `$` keys as sent', async () => {
    const p = partition();
    const r = record('evt_A');
    expect(await storeAt(repository, p, 0, [r])).toEqual({ stored: 1, duplicates: 0 });
    expect(await storeAt(repository, p, 0, [{ ...r, message: 'again' }])).toEqual({
      stored: 0,
      duplicates: 1,
    });
    const found = await repository.chronological(org, 'I', { event_id: 'evt_A' }, 10);
    expect(found).toEqual([r]);
  });

  it('stores a redelivered batch once, whole or from the middle of a stored bucket, by any instance', async () => {
    const o = uniqueName('mon-redeliver');
    const p = partition();
    const batch = Array.from({ length: 40 }, (_, i) =>
      record(`evt_${i}`, undefined, { org_id: o, message: 'first' }),
    );
    expect(await storeAt(repository, p, 1_000, batch)).toEqual({ stored: 40, duplicates: 0 });
    const again = batch.map((r) => ({ ...r, message: 'again' }));
    // The same instance, the same batch (a crash between storing and committing, the batch fetched again).
    expect(await storeAt(repository, p, 1_000, again)).toEqual({ stored: 0, duplicates: 40 });
    // Another instance (after a rebalance), from the middle of the stored bucket and past its end.
    const other = new MonitoringRepository(store, 30);
    const more = Array.from({ length: 20 }, (_, i) =>
      record(`evt_more_${i}`, undefined, { org_id: o, message: 'first' }),
    );
    expect(await storeAt(other, p, 1_020, [...again.slice(20), ...more])).toEqual({
      stored: 20,
      duplicates: 20,
    });
    // A third instance, a batch wholly inside what is stored (a smaller fetch than the first delivery's).
    const third = new MonitoringRepository(store, 30);
    expect(await storeAt(third, p, 1_045, [...again.slice(25), ...more].slice(20, 30))).toEqual({
      stored: 0,
      duplicates: 10,
    });
    const stored = await eventsOf(o);
    expect(stored.length).toBe(60);
    expect(new Set(stored.map(([e]) => e)).size).toBe(60);
    expect(stored.every(([, m]) => m === 'first')).toBe(true);
  });

  it('stores a record produced again at a later offset once, the first copy (also by a fresh instance)', async () => {
    const o = uniqueName('mon-again');
    const p = partition();
    const first = record('evt_x', '2026-03-01T00:00:00.000Z', { org_id: o, message: 'first' });
    await storeAt(repository, p, 0, [first, record('evt_y', undefined, { org_id: o })]);
    // The writer redid its work after a crash: the same record (same id), created later, 3,000 offsets
    // later (further than a bucket spans: only the window or the seed knows it).
    const redo = { ...first, created_at: '2026-03-01T00:00:05.000Z', message: 'redo' };
    expect(await storeAt(repository, p, 3_000, [redo])).toEqual({ stored: 0, duplicates: 1 });
    // Another instance, which never saw the first copy: it reads the buckets before the batch.
    const fresh = new MonitoringRepository(store, 30);
    expect(await storeAt(fresh, p, 3_001, [{ ...redo, message: 'redo 2' }])).toEqual({
      stored: 0,
      duplicates: 1,
    });
    expect(await eventsOf(o, { event_id: 'evt_x' })).toEqual([['evt_x', 'first']]);
  });

  it('reads nothing for a batch that follows the last one it stored; looks up again after a rejoin or an unanswered insert', async () => {
    const o = uniqueName('mon-follow');
    const p = partition();
    const batch = (from: number, n: number, message = 'first') =>
      Array.from({ length: n }, (_, i) => record(`evt_${from + i}`, undefined, { org_id: o, message }));
    const bucketReads = () =>
      sent.filter((q) => q.command === 'find' && q.collection === BUCKETS_COLLECTION).length;
    const a = new MonitoringRepository(store, 30);
    expect(await storeAt(a, p, 0, batch(0, 10))).toEqual({ stored: 10, duplicates: 0 });
    // The next batch follows the first: no read of what is stored (ADR 19, amended for issue 22).
    const before = bucketReads();
    expect(await storeAt(a, p, 10, batch(10, 10))).toEqual({ stored: 10, duplicates: 0 });
    expect(bucketReads()).toBe(before);
    // A rebalance: another instance stores the partition on (and its commit is lost, so the partition
    // comes back to the first instance from offset 20).
    const b = new MonitoringRepository(store, 30);
    expect(await storeAt(b, p, 20, batch(20, 10))).toEqual({ stored: 10, duplicates: 0 });
    // Back at the first instance, told of the rejoin: it looks up, and stores nothing twice (without
    // `forgetPositions` it took its batch to follow and stored the 8 records again in a bucket of its own).
    a.forgetPositions();
    expect(await storeAt(a, p, 20, batch(20, 8, 'again'))).toEqual({ stored: 0, duplicates: 8 });
    // An insert that did not answer (here: the other instance stored a bucket of the same name meanwhile)
    // leaves the batch not following: its retry looks up and finds what is stored.
    expect(await storeAt(b, p, 30, batch(30, 10))).toEqual({ stored: 10, duplicates: 0 });
    const c = new MonitoringRepository(store, 30);
    expect(await storeAt(c, p, 28, batch(28, 2))).toEqual({ stored: 0, duplicates: 2 }); // c follows 30 now
    expect(await storeAt(b, p, 40, batch(40, 5))).toEqual({ stored: 5, duplicates: 0 });
    await expect(storeAt(c, p, 30, batch(30, 15, 'again'))).rejects.toBeInstanceOf(
      BucketStoredMeanwhileError,
    );
    expect(await storeAt(c, p, 30, batch(30, 15, 'again'))).toEqual({ stored: 0, duplicates: 15 });
    const stored = await eventsOf(o);
    expect(stored.length).toBe(45);
    expect(new Set(stored.map(([e]) => e)).size).toBe(45);
    expect(stored.every(([, m]) => m === 'first')).toBe(true);
  });

  it('stores the records of a topic created again (offsets starting over, other records), and keeps the old', async () => {
    const o = uniqueName('mon-recreated');
    const p = partition();
    const old = Array.from({ length: 10 }, (_, i) => record(`evt_old_${i}`, undefined, { org_id: o }));
    await storeAt(repository, p, 0, old);
    // The topic deleted and created again: the same partition and offsets hold other records.
    const fresh = new MonitoringRepository(store, 30);
    const recreated = Array.from({ length: 10 }, (_, i) => record(`evt_new_${i}`, undefined, { org_id: o }));
    expect(await storeAt(fresh, p, 0, recreated)).toEqual({ stored: 10, duplicates: 0 });
    // Its redelivery is still found (the old bucket was moved out of the way of the new one's name).
    expect(await storeAt(new MonitoringRepository(store, 30), p, 0, recreated)).toEqual({
      stored: 0,
      duplicates: 10,
    });
    expect((await eventsOf(o)).map(([e]) => e).sort()).toEqual(
      [...old, ...recreated].map((r) => r.event_id).sort(),
    );
  });

  it('hides and sweeps records past retention, keeps the others', async () => {
    const day = 86_400_000;
    const p = partition();
    await storeAt(repository, p, 0, [record('evt_old')], Date.now() - 31 * day);
    await storeAt(repository, p, 1, [record('evt_new')]);
    expect((await repository.page(org, 'I', { event_id: 'evt_old' }, 10, 'v2')).length).toBe(0);
    // The real clock only: the database is shared with every other test running now.
    // On FerretDB the retention helper sweeps (on MongoDB the TTL index would, within a minute).
    expect((await removeExpired(store, [BUCKETS_COLLECTION]))[BUCKETS_COLLECTION]).toBeGreaterThanOrEqual(1);
    expect((await repository.page(org, 'I', { event_id: 'evt_new' }, 10, 'v2')).length).toBe(1);
    expect(
      await store.collection(BUCKETS_COLLECTION).countDocuments({ org_ids: org, event_ids: 'evt_old' }),
    ).toBe(0);
  });

  it('aggregates at most the configured number of records per request', async () => {
    const scanOrg = uniqueName('mon-scan');
    await storeAt(
      repository,
      partition(),
      0,
      Array.from({ length: 5 }, (_, i) => ({ ...record(`evt_scan_${i}`), org_id: scanOrg })),
    );
    const scan = async (max: number) => {
      const out: string[] = [];
      for await (const r of repository.scan(scanOrg, 'I', {}, max)) out.push(r.event_id);
      return out;
    };
    expect((await scan(5)).length).toBe(5);
    await expect(scan(3)).rejects.toMatchObject({ statusCode: 400, code: 'QUERY_TOO_LARGE' });
  });

  it('never reads another organisation or integration', async () => {
    await storeAt(repository, partition(), 0, [record('evt_mine')]);
    expect(await repository.page(uniqueName('other'), 'I', {}, 10, 'v2')).toEqual([]);
    expect(await repository.page(org, 'other-integration', {}, 10, 'v2')).toEqual([]);
  });

  describe('answers as the per-record collection did', () => {
    // The same 60 records (the same ids) three ways: in buckets (organisation B), one document each as
    // the version before stored them (L), and half each way (M: an upgraded database). Buckets of 7
    // records in shuffled time order (their time ranges overlap), created_at shared by 4 records.
    const B = uniqueName('mon-B');
    const L = uniqueName('mon-L');
    const M = uniqueName('mon-M');
    const base = Date.parse('2026-02-01T00:00:00.000Z');
    const stages = [
      'accepted',
      'mapped',
      'entity_written',
      'mapping_failed',
      'dead_lettered',
      'skipped',
    ] as const;
    const levels = ['success', 'error', 'skipped', 'warning'] as const;
    const all = Array.from({ length: 60 }, (_, i): MonitoringRecord => {
      const useCase = ['', 'U1', 'U2', 'U3'][i % 4]!;
      return {
        ...monitoringRecord({
          org_id: 'x',
          integration_id: 'I',
          event_id: i % 10 === 9 ? '' : `evt_${String((i * 7) % 23).padStart(2, '0')}`,
          correlation_id: `C${i % 5}`,
          use_case_id: useCase,
          stage: stages[i % 6]!,
          level: levels[i % 4]!,
          code: i % 3 === 0 ? '' : `CODE_${i % 3}`,
          message: `m${i}`,
          detail: i % 2 ? { n: i, $ref: 'kept' } : null,
          final: i % 2 === 0,
          ...(i % 5 ? { event_type: `type_${i % 3}` } : {}),
          ...(i % 4 ? { object_type: `obj_${i % 2}` } : {}),
          ...(i % 3 ? { sync_type: i % 2 ? ('entity' as const) : ('meter_reading' as const) } : {}),
          ...(i % 6 === 1 ? { category: 'validation' as const } : {}),
          created_at: new Date(base + Math.floor(i / 4) * 1_000).toISOString(),
        }),
        id: nameUuid(`answers-${i}`),
      };
    });
    // Ids are unique in the legacy collection: each organisation's carry its letter and this run's
    // tag in front (the same order within an organisation); compared without it.
    const run = uniqueName('r').slice(2); // 8 characters, this run's
    const as = (o: string, rs: MonitoringRecord[]) =>
      rs.map((r) => ({ ...r, org_id: o, id: `${o[4]}${run}:${r.id}` }));
    const strip = (id: string) => id.slice(10);
    const legacyDocs = (o: string, rs: MonitoringRecord[]) =>
      as(o, rs).map(({ id, schema_version: _v, detail, ...rest }) => ({
        _id: id,
        ...rest,
        detail: detail ? JSON.stringify(detail) : null,
        expires_at: new Date(Date.now() + 86_400_000),
      }));
    const shuffled = all.map((_, i) => all[(i * 29) % all.length]!);
    const inBuckets = async (o: string, rs: MonitoringRecord[]) => {
      const p = partition();
      for (let i = 0; i < rs.length; i += 7) await storeAt(repository, p, i, as(o, rs.slice(i, i + 7)));
    };

    beforeAll(async () => {
      await inBuckets(B, shuffled);
      await inBuckets(
        M,
        shuffled.filter((_, i) => i % 2 === 0),
      );
      const legacy = store.collection(LEGACY_COLLECTION);
      await legacy.insertMany(legacyDocs(L, all) as never[]);
      await legacy.insertMany(
        legacyDocs(
          M,
          shuffled.filter((_, i) => i % 2 === 1),
        ) as never[],
      );
    });

    const filters: RecordFilter[] = [
      {},
      { from: new Date(base + 5_000).toISOString(), to: new Date(base + 20_000).toISOString() },
      { from: new Date(base + 10_000).toISOString() },
      { level: 'error' },
      { levels: ['skipped', 'warning'] },
      { code: '' },
      { code: 'CODE_1' },
      { event_id: 'evt_05' },
      { event_id: '' },
      { correlation_id: 'C3' },
      { use_case_type: 'inbound' },
      { use_case_type: '' },
      { use_case_types: ['inbound', ''] },
      { use_case_id: 'U2' },
      { use_case_id: '' },
      { use_case_not_in: ['U1'] },
      { final: true },
      { final: false, level: 'error' },
      { stages: ['mapped', 'dead_lettered'] },
      { event_type: 'type_1' },
      { object_type: 'obj_0' },
      { sync_type: 'meter_reading' },
      { category: 'validation' },
      { correlation_id: 'C1', final: true, from: new Date(base + 3_000).toISOString() },
    ];

    /** Every page of a query, following its cursor as the routes build it. */
    const pages = async (o: string, f: RecordFilter, limit: number, keyset: 'v1' | 'v2') => {
      const out: string[][] = [];
      let after: Keyset | undefined;
      for (let n = 0; n < 200; n++) {
        const found = await repository.page(o, 'I', f, limit, keyset, after);
        const page = found.slice(0, limit);
        out.push(page.map((r) => `${strip(r.id)} ${r.created_at} ${r.event_id} ${r.message}`));
        const last = page[page.length - 1];
        if (found.length <= limit || !last) return out;
        after =
          keyset === 'v1'
            ? { created_at: last.created_at, event_id: last.event_id, id: last.id }
            : { created_at: last.created_at, id: last.id };
      }
      throw new Error('more than 200 pages');
    };
    const same = (rs: MonitoringRecord[]) => rs.map((r) => ({ ...r, org_id: 'x', id: strip(r.id) }));

    it.each(filters.map((f) => [JSON.stringify(f), f] as const))(
      'pages (limits 1, 3, 25; v1, v2): %s',
      async (_, f) => {
        for (const limit of [1, 3, 25]) {
          for (const keyset of ['v1', 'v2'] as const) {
            const expected = await pages(L, f, limit, keyset);
            expect(expected.flat().length).toBeGreaterThan(0);
            expect(await pages(B, f, limit, keyset)).toEqual(expected);
            expect(await pages(M, f, limit, keyset)).toEqual(expected);
          }
        }
      },
    );

    it.each(filters.map((f) => [JSON.stringify(f), f] as const))(
      'reads in order and scans: %s',
      async (_, f) => {
        for (const max of [1, 4, 1_000]) {
          const expected = same(await repository.chronological(L, 'I', f, max));
          expect(same(await repository.chronological(B, 'I', f, max))).toEqual(expected);
          expect(same(await repository.chronological(M, 'I', f, max))).toEqual(expected);
        }
        const scan = async (o: string, max: number) => {
          const out: MonitoringRecord[] = [];
          for await (const r of repository.scan(o, 'I', f, max)) out.push(...same([r]));
          return out.sort((a, b) => (a.id < b.id ? -1 : 1));
        };
        const expected = await scan(L, 1_000);
        expect(await scan(B, 1_000)).toEqual(expected);
        expect(await scan(M, 1_000)).toEqual(expected);
        if (expected.length > 2) {
          await expect(scan(B, expected.length - 1)).rejects.toMatchObject({ code: 'QUERY_TOO_LARGE' });
          await expect(scan(M, expected.length - 1)).rejects.toMatchObject({ code: 'QUERY_TOO_LARGE' });
          expect((await scan(M, expected.length)).length).toBe(expected.length);
        }
      },
    );
  });
  // Issue 19: on FerretDB no index serves these reads, so one broad query read every organisation's
  // buckets for minutes (the noisy-neighbour benchmark). Each read stops at the repository's time limit.
  it('stops a read that runs past its time limit and says to narrow it', { timeout: 300_000 }, async () => {
    const p = partition();
    const pad = 'x'.repeat(1_000);
    // About 10 MB of the organisation's records, none of them event `none`: reading them all takes
    // FerretDB about a second. Their correlation id is `none`, so every bucket holds each string the
    // filter asks for and FerretDB must decode it (a bucket without one is skipped undecoded: ADR 8,
    // change 9).
    for (let chunk = 0; chunk < 10; chunk++) {
      const records = Array.from({ length: 1_000 }, (_, i) =>
        record(`crowd_${chunk}_${i}`, undefined, { correlation_id: 'none', message: pad }),
      );
      await storeAt(repository, p, chunk * 1_000, records);
    }
    const quick = new MonitoringRepository(store, 30, 50, 50);
    const tooLong = { code: 'QUERY_TOO_LARGE', statusCode: 400, message: expect.stringContaining('50 ms') };
    const scanAll = async () => {
      for await (const _ of quick.scan(org, 'I', { event_id: 'none' }, 1_000)) {
        // nothing matches: the scan reads every bucket
      }
    };
    await expect(scanAll()).rejects.toMatchObject(tooLong);
    await expect(quick.page(org, 'I', { event_id: 'none' }, 10, 'v2')).rejects.toMatchObject(tooLong);
    await expect(quick.chronological(org, 'I', { event_id: 'none' }, 10)).rejects.toMatchObject(tooLong);
    // With time enough the same read answers (none found): the limit, not the query, stopped it.
    const patient = new MonitoringRepository(store, 30, 120_000, 120_000);
    expect(await patient.chronological(org, 'I', { event_id: 'none' }, 10)).toEqual([]);
  });

  // Issue 22 / ADR 19 on MongoDB, where no server runs here: every query the tests above made the
  // repository send starts from an index of the plan (libs/mongo plan.ts; index-coverage.ts says what
  // "starts from" means), so none reads a collection that grows with history from end to end.
  it('sends only queries that an index of MongoDB’s plan serves', () => {
    const ours = sent.filter((q) => [BUCKETS_COLLECTION, LEGACY_COLLECTION].includes(q.collection));
    expect(unservedQueries(ours)).toEqual([]);
    // It saw the repository's kinds of query: the overlap lookup by name, pages and scans of both
    // layouts, a single event's records, and the sweep.
    const used = new Set(
      ours.flatMap((q) => servingIndexes(q.collection, q.filter).map((i) => `${q.collection}.${i}`)),
    );
    expect([...used].sort()).toEqual(
      expect.arrayContaining([
        'monitoring_buckets._id_',
        'monitoring_buckets.integration_time',
        'monitoring_buckets.event_ids',
        'monitoring_buckets.expires_at',
        'monitoring_events.org_integration_time',
      ]),
    );
  });
});
