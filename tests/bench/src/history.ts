// The history phase (issue 22): the end-to-end rate again once the database holds a stated amount of
// history (stored requests with their events, their monitoring records, deduplication claims and
// acceptance markers), loaded fast by direct inserts of documents cloned from the ones the services stored
// in this run, with the retention sweeps of the gateway and the config-service running during the measured
// window. The layout is ADR 18's: one `inbound_requests` document and one `dedupe_accepted` marker per
// request, one claim per event; the monitoring records in buckets of up to 500 (ADR 19), as the sink
// stores a chunk.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  type BucketDoc,
  cutBuckets,
  recordsOf,
  type StoredRecord,
} from '@hub/config-service/monitoring/buckets';
import { newEventId } from '@hub/contracts';
import { type Document, MongoStore, RATE_LIMIT_COLLECTIONS, removeExpired } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { waitIdle } from './consumers.js';
import { Sender } from './end-to-end.js';
import { ratio } from './report.js';
import { measuredLoad, type Run } from './steps.js';

const logger = createLogger({ service: 'bench-history', level: 'error' });
const n = (x: number) => x.toLocaleString('en-US');

/** The stores the history is made of, as the services name them (libs/mongo plan.ts). */
export const HISTORY_COLLECTIONS = [
  'inbound_requests',
  'monitoring_buckets',
  'dedupe',
  'dedupe_accepted',
] as const;
/** What each service's sweeper expires on FerretDB (the gateway's COLLECTIONS_EXPIRED; the config-service's). */
export const SWEEPS: Record<string, readonly string[]> = {
  'ingest-gateway': [
    'dedupe',
    'dedupe_accepted',
    'inbound_requests',
    'inbound_events',
    ...RATE_LIMIT_COLLECTIONS,
  ],
  'config-service': ['monitoring_buckets', 'monitoring_events'],
};

/**
 * One accepted request as the services stored it: its event-store document (its events inside), its
 * acceptance marker, the claims of its events and their monitoring records (each as a bucket holds it:
 * `id`, the record's fields, `detail` as a string, its offset `o`).
 */
export interface Bundle {
  request: Document;
  accepted: Document;
  dedupe: Document[];
  monitoring: Document[];
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const base32Random = (length: number) => [...randomBytes(length)].map((b) => CROCKFORD[b % 32]).join('');
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/**
 * A copy of `value` for another event: every string with an old id in it gets the new one (`swaps`),
 * and every date (a Date, or an ISO 8601 UTC string) moves `shiftMs` into the past. Other values (numbers,
 * booleans, BSON types) are kept.
 */
export function cloneShifted(value: unknown, swaps: Array<[string, string]>, shiftMs: number): unknown {
  if (typeof value === 'string') {
    let s = value;
    for (const [from, to] of swaps) if (s.includes(from)) s = s.replaceAll(from, to);
    return ISO.test(s) ? new Date(Date.parse(s) - shiftMs).toISOString() : s;
  }
  if (value instanceof Date) return new Date(value.getTime() - shiftMs);
  if (Array.isArray(value)) return value.map((v) => cloneShifted(v, swaps, shiftMs));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cloneShifted(v, swaps, shiftMs)]));
  }
  return value;
}

/**
 * History request `index` of `total`, made from `template`: a new request id, and for each of its events
 * new event, correlation and deduplication ids (in its stored event, its claim and its monitoring records),
 * dated `index / total` of `spanMs` in the past (its expiry moves with it, so the oldest may be expired
 * already, as a sweep finds them). Monitoring records whose id does not contain the event id get a new
 * UUID (their ids are name-based UUIDs).
 */
export function cloneBundle(
  template: Bundle,
  index: number,
  total: number,
  spanMs: number,
  tag: string,
): Bundle {
  const shift = total > 1 ? Math.round((spanMs * index) / (total - 1)) : 0;
  // Ids as libs/event-store's requestEventIds makes them: the request's id (10 characters of time, 12
  // random: not a ULID's prefix, which repeats within a millisecond), then 4 characters per event.
  const requestId = newEventId().slice(4, 14) + base32Random(12);
  const requestSwap: [string, string] = [String(template.request._id), requestId];
  const claimOf = new Map(template.dedupe.map((c) => [String(c.event_id), c]));
  const recordsOf = new Map<string, Document[]>();
  for (const r of template.monitoring)
    recordsOf.set(String(r.event_id), [...(recordsOf.get(String(r.event_id)) ?? []), r]);
  const events: Document[] = [];
  const dedupe: Document[] = [];
  const monitoring: Document[] = [];
  (template.request.events as Document[]).forEach((event, i) => {
    const eventId = `evt_${requestId}${[3, 2, 1, 0].map((d) => CROCKFORD[Math.floor(i / 32 ** d) % 32]).join('')}`;
    const swaps: Array<[string, string]> = [[String(event.event_id), eventId], requestSwap];
    const correlation = event.correlation_id;
    if (typeof correlation === 'string' && correlation && correlation !== event.event_id) {
      swaps.push([correlation, randomUUID()]);
    }
    const dedupeId = event.deduplication_id;
    if (typeof dedupeId === 'string' && dedupeId) swaps.push([dedupeId, `${tag}-${index}-${i}`]);
    const clone = (d: Document) => cloneShifted(d, swaps, shift) as Document;
    events.push(clone(event));
    const claim = claimOf.get(String(event.event_id));
    if (claim) dedupe.push(clone(claim));
    for (const r of recordsOf.get(String(event.event_id)) ?? []) {
      const c = clone(r);
      if (c.id === r.id) c.id = randomUUID();
      monitoring.push(c);
    }
  });
  const { events: _e, event_ids: _i, correlation_ids: _c, ...head } = template.request;
  const request = {
    ...(cloneShifted(head, [requestSwap], shift) as Document),
    event_ids: events.map((e) => e.event_id),
    correlation_ids: [...new Set(events.map((e) => e.correlation_id))],
    events,
  };
  return {
    request,
    accepted: cloneShifted(template.accepted, [requestSwap], shift) as Document,
    dedupe,
    monitoring,
  };
}

/**
 * The monitoring records of `eventIds`, read from the buckets in the order they were stored until each
 * event's final record is found: the requests are the run's first, so are their buckets, and the rest of
 * the collection (every record of the run, which FerretDB reads to filter by `event_ids`) is left unread.
 */
async function bucketRecords(db: MongoStore['db'], eventIds: string[]): Promise<Document[]> {
  const wanted = new Set(eventIds);
  const finished = new Set<string>();
  const out: Document[] = [];
  const cursor = db
    .collection<BucketDoc>('monitoring_buckets')
    .find({ event_ids: { $in: eventIds } })
    .batchSize(8);
  try {
    for await (const bucket of cursor) {
      // Either stored form (ADR 19, amended 2026-12), read as the sink reads them.
      for (const r of recordsOf(bucket)) {
        if (!wanted.has(r.event_id)) continue;
        out.push(r);
        if (r.final) finished.add(r.event_id);
      }
      if (finished.size === wanted.size) break;
    }
  } finally {
    await cursor.close();
  }
  return out;
}

/** The run's own accepted requests with everything the services stored for them (up to `limit`). */
export async function templates(store: MongoStore, orgs: string[], limit = 20): Promise<Bundle[]> {
  const db = store.db;
  // The events as an array here (the gateway stores them as one JSON text; older documents as the array).
  const requests = (
    await db
      .collection('inbound_requests')
      .find({ org_id: { $in: orgs } })
      .limit(limit)
      .toArray()
  ).map((r) => (typeof r.events === 'string' ? { ...r, events: JSON.parse(r.events) as Document[] } : r));
  const owners = requests.map((r) => String(r._id));
  const ids = requests.flatMap((r) => r.event_ids as string[]);
  // Claims by `_id` (`<org>:<integration>:<deduplication id>`, as the gateway names them): FerretDB finds
  // them without reading the collection, which holds every claim of the run.
  const claimIds = requests.flatMap((r) =>
    (r.events as Document[])
      .filter((e) => typeof e.deduplication_id === 'string' && e.deduplication_id)
      .map((e) => `${r.org_id}:${r.integration_id}:${e.deduplication_id}`),
  );
  const [claims, records, markers] = await Promise.all([
    db
      .collection('dedupe')
      .find({ _id: { $in: claimIds } } as Document)
      .toArray()
      .then((found) => found.filter((c) => owners.includes(String(c.owner)))),
    bucketRecords(db, ids),
    db
      .collection('dedupe_accepted')
      .find({ _id: { $in: owners } } as Document)
      .toArray(),
  ]);
  const markerOf = new Map(markers.map((m) => [String(m._id), m]));
  const claimsOf = new Map<string, Document[]>();
  for (const c of claims) claimsOf.set(String(c.owner), [...(claimsOf.get(String(c.owner)) ?? []), c]);
  const withRecords = new Set(records.map((r) => String(r.event_id)));
  const out: Bundle[] = [];
  for (const request of requests) {
    const owner = String(request._id);
    const accepted = markerOf.get(owner);
    const events = request.events as Document[];
    const complete =
      events.every((e) => e.status === 'success' && withRecords.has(String(e.event_id))) &&
      (claimsOf.get(owner)?.length ?? 0) === events.length;
    if (accepted && complete) {
      const own = new Set(events.map((e) => String(e.event_id)));
      out.push({
        request,
        accepted,
        dedupe: claimsOf.get(owner) ?? [],
        monitoring: records.filter((r) => own.has(String(r.event_id))),
      });
    }
  }
  return out;
}

/**
 * The monitoring records of a batch of history requests as the sink would store them (ADR 19), cut by the
 * sink's own `cutBuckets` (up to 500 records), named `hist:<tag>:<n>` (a name no sink looks up), expiring
 * with the batch's first request.
 */
export function historyBuckets(batch: Bundle[], tag: string): Document[] {
  const records = batch.flatMap((b) => b.monitoring).map((r, o) => ({ ...r, o }) as unknown as StoredRecord);
  if (records.length === 0) return [];
  return cutBuckets(-1, records, batch[0]!.request.expires_at as Date).map((b, n) => ({
    ...b,
    _id: `hist:${tag}:${n}`,
  }));
}

/** Sizes of the database's SQLite files (the data file and its write-ahead log), in MB, by name. */
export function sqliteFiles(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const name of readdirSync(dir)) {
      if (!/\.sqlite(-wal|-shm)?$/.test(name)) continue;
      out[name] = Math.round((statSync(path.join(dir, name)).size / 2 ** 20) * 10) / 10;
    }
  } catch {
    // no such directory: nothing to report
  }
  return out;
}

async function load(
  store: MongoStore,
  bundles: Bundle[],
  plan: { events: number; spanHours: number },
  tag: string,
  log: (msg: string) => void,
): Promise<{ loaded: Record<string, number>; ms: number }> {
  const BATCH_EVENTS = 250;
  const LANES = 2;
  const loaded: Record<string, number> = Object.fromEntries(HISTORY_COLLECTIONS.map((c) => [c, 0]));
  const spanMs = plan.spanHours * 3_600_000;
  // Requests of the templates' sizes, in turn, until they hold the planned events.
  const sizes = bundles.map((b) => (b.request.events as Document[]).length);
  const requests: number[] = [];
  for (let events = 0, i = 0; events < plan.events; i++) {
    requests.push(i % bundles.length);
    events += sizes[i % bundles.length]!;
  }
  const started = Date.now();
  let next = 0;
  let events = 0;
  let reported = 0;
  const lane = async () => {
    while (next < requests.length) {
      const from = next;
      let size = 0;
      for (let e = 0; from + size < requests.length && e < BATCH_EVENTS; size++)
        e += sizes[requests[from + size]!]!;
      next += size;
      const batch = Array.from({ length: size }, (_, i) =>
        cloneBundle(bundles[requests[from + i]!]!, from + i, requests.length, spanMs, tag),
      );
      const docs: Record<(typeof HISTORY_COLLECTIONS)[number], Document[]> = {
        // Stored as the gateway stores them: the events as one JSON text (libs/event-store, ADR 18).
        inbound_requests: batch.map((b) => ({ ...b.request, events: JSON.stringify(b.request.events) })),
        monitoring_buckets: historyBuckets(batch, `${tag}:${from}`),
        dedupe: batch.flatMap((b) => b.dedupe),
        dedupe_accepted: batch.map((b) => b.accepted),
      };
      for (const c of HISTORY_COLLECTIONS) {
        if (docs[c].length === 0) continue;
        const r = await store.db.collection(c).insertMany(docs[c], { ordered: false });
        loaded[c] = (loaded[c] ?? 0) + r.insertedCount;
      }
      events += batch.reduce((s, b) => s + (b.request.events as Document[]).length, 0);
      if (events - reported >= plan.events / 10) {
        reported = events;
        log(`history: ${n(reported)} of ${n(plan.events)} events' worth loaded`);
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  return { loaded, ms: Date.now() - started };
}

/**
 * The end-to-end rate with history: a closed loop like phase A just before loading (the same database
 * without the history: the other steps' entities are there in both), the history loaded, then the same
 * closed loop again while both services' retention sweeps run (the same `removeExpired` they run every
 * 10 minutes on FerretDB, started with the measured window). Compared with phase A (the empty database).
 */
export async function historyStep(run: Run): Promise<void> {
  const { events, spanHours } = run.form.history;
  const dataDir = path.join(path.dirname(run.stack.logDir), 'data', 'ferretdb');
  const direct = await MongoStore.connect({ url: run.stack.mongoUrl, logger, appName: 'bench-history-load' });
  // The sweeps go through the counting proxy, as the services' would.
  const sweeper = await MongoStore.connect({ url: run.wire.url(), logger, appName: 'bench-sweeps' });
  try {
    await waitIdle(run.stack, run.form.stepTimeoutMs);
    const before = await measuredLoad(
      run,
      'history: before loading',
      new Sender(run.stack.baseUrl, run.targets, run.form.customers, run.random, `${run.runId}-hb`),
    );
    await waitIdle(run.stack, run.form.stepTimeoutMs);
    const bundles = await templates(
      direct,
      run.targets.map((t) => t.org),
    );
    if (bundles.length === 0)
      throw new Error('history: no stored request of this run has its claims, marker and records');
    const templateEvents = bundles.reduce((s, b) => s + (b.request.events as Document[]).length, 0);
    const recordsPerEvent = bundles.reduce((s, b) => s + b.monitoring.length, 0) / templateEvents;
    run.log(
      `history: loading ${n(events)} events' worth (${bundles.length} template requests of ${(templateEvents / bundles.length).toFixed(0)} events, ${recordsPerEvent.toFixed(1)} monitoring records per event) over the last ${spanHours} h`,
    );
    const filesBefore = sqliteFiles(dataDir);
    const { loaded, ms: loadMs } = await load(
      direct,
      bundles,
      { events, spanHours },
      `${run.runId}-hist`,
      run.log,
    );
    const filesLoaded = sqliteFiles(dataDir);
    run.log(
      `history: loaded in ${(loadMs / 1000).toFixed(1)} s: ${JSON.stringify(loaded)}; files ${JSON.stringify(filesLoaded)}`,
    );
    await waitIdle(run.stack, run.form.stepTimeoutMs);

    // The sweeps start with the measured window, each service's at once, as their timers may fire.
    // BENCH_HISTORY_SWEEPS=0 leaves them out (an experiment: what the sweeps cost).
    const sweepsOn = process.env.BENCH_HISTORY_SWEEPS !== '0';
    const sweeps = Object.entries(sweepsOn ? SWEEPS : {}).map(async ([service, collections]) => {
      const at = Date.now();
      try {
        const removed = await removeExpired(sweeper, collections);
        return { service, removed, ms: Date.now() - at };
      } catch (err) {
        return { service, error: (err as Error).message, ms: Date.now() - at };
      }
    });
    const after = await measuredLoad(
      run,
      'history',
      new Sender(run.stack.baseUrl, run.targets, run.form.customers, run.random, `${run.runId}-ha`),
    );
    const swept = await Promise.all(sweeps);
    const filesAfter = sqliteFiles(dataDir);
    // The monitoring collection's size, from the database's statistics (`collStats`). Not `countDocuments`:
    // the hub never counts a whole collection, and on FerretDB 1.24 a count reads and decodes every
    // document in Go, holding them in memory (726,720 records: 250 s and 4.9 GB resident; at 250,000
    // events' worth of history it exhausted this machine). `estimatedDocumentCount` is the same `count`
    // command there (90 s); `collStats` answers in seconds.
    let monitoringCount: { documents: number; ms: number } | undefined;
    if (events >= 50_000) {
      const countAt = Date.now();
      const stats = await direct.db.command({ collStats: 'monitoring_buckets' });
      monitoringCount = { documents: Number(stats.count), ms: Date.now() - countAt };
    }

    const empty = run.figures.find((f) => f.key === 'e2e.processed')?.value;
    run.details.history = {
      historyEvents: events,
      spanHours,
      templates: bundles.length,
      recordsPerEvent,
      loaded,
      loadMs,
      sweeps: sweepsOn ? swept : 'off (BENCH_HISTORY_SWEEPS=0)',
      sqliteMB: { before: filesBefore, loaded: filesLoaded, after: filesAfter },
      ...(monitoringCount ? { monitoringCount } : {}),
      before: { ...before.figures, cpuPerEventMs: before.cpuPerEventMs, database: before.database },
      ...after.figures,
      cpuPerEventMs: after.cpuPerEventMs,
      database: after.database,
    };
    const fa = after.figures;
    const total = Object.values(loaded).reduce((s, x) => s + x, 0);
    run.figures.push(
      {
        key: 'history.processed',
        section: 'history',
        label: `processed with ${n(events)} events' history stored`,
        value: fa.processedPerSecond,
        unit: 'events/s',
        count: fa.processed,
        durationMs: fa.processMs,
        note:
          `${n(total)} documents loaded (${Object.entries(loaded)
            .map(([c, x]) => `${c} ${n(x)}`)
            .join(
              ', ',
            )}), dated over the last ${spanHours} h; ${sweepsOn ? 'both retention sweeps run from the start' : 'NO sweeps (BENCH_HISTORY_SWEEPS=0)'}; ` +
          `just before loading: ${Math.round(before.figures.processedPerSecond)} events/s`,
      },
      {
        key: 'ratio.history_to_empty',
        section: 'ratios',
        label: 'processed with history / on the empty database (phase A)',
        value: ratio(fa.processedPerSecond, empty),
        unit: '×',
        note: `goal ≥ 0.8; / just before loading: ${ratio(fa.processedPerSecond, before.figures.processedPerSecond).toFixed(2)}`,
      },
    );
  } finally {
    await direct.close();
    await sweeper.close();
  }
}
