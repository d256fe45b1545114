import { cutBuckets, storedRecord } from '@hub/config-service/monitoring/buckets';
import { entityKey, monitoringRecord, nameUuid, Topics } from '@hub/contracts';
import { encodeValue, KafkaClient } from '@hub/kafka';
import { type AnyBulkWriteOperation, type Document, MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { contactPayload, customerNumber, inboundMessage, type Target } from './fixtures.js';
import { perSecond } from './stats.js';

export const RAW_TOPIC = 'bench.raw-producer';
const BATCH = 100;
const logger = createLogger({ service: 'bench', level: 'error' });

export interface CeilingResult {
  events: number;
  ms: number;
  perSecond: number;
  detail: Record<string, unknown>;
}

/**
 * A plain kafkajs producer (not idempotent, no tracing), connected, and the bench-only topic it sends to
 * made with as many partitions as `erp.inbound.events`.
 */
async function rawTopicProducer(brokers: string[], clientId: string) {
  const client = new KafkaClient({ clientId, brokers, logger });
  const admin = await client.admin();
  const { topics } = await admin.fetchTopicMetadata({ topics: [Topics.inboundEvents] });
  await admin.disconnect();
  const partitions = topics[0]?.partitions.length ?? 6;
  await client.ensureTopics([{ topic: RAW_TOPIC, partitions }]);
  const producer = client.kafka.producer();
  await producer.connect();
  return { producer, partitions };
}

/**
 * The broker's ceiling for what the gateway sends: a plain kafkajs producer (not idempotent, no tracing)
 * sending the gateway's inbound-event messages (same value, key and headers) in batches of 100 with
 * acks=all, `inFlight` batches at a time, to a bench-only topic with as many partitions as
 * `erp.inbound.events`, on the same broker.
 */
export async function rawProducer(
  brokers: string[],
  targets: Target[],
  plan: { events: number; inFlight: number; customers: number; random: () => number },
): Promise<CeilingResult> {
  const { producer, partitions } = await rawTopicProducer(brokers, 'bench-raw-producer');
  try {
    let sent = 0;
    const lane = async () => {
      while (sent < plan.events) {
        const size = Math.min(BATCH, plan.events - sent);
        sent += size;
        const messages = Array.from({ length: size }, (_, i) => {
          const target = targets[(sent + i) % targets.length]!;
          const customer = customerNumber(Math.floor(plan.random() * plan.customers));
          const m = inboundMessage(target, customer, sent + i, 1, RAW_TOPIC);
          return { key: m.key, value: encodeValue(m.value), headers: m.headers };
        });
        await producer.send({ topic: RAW_TOPIC, acks: -1, messages });
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: plan.inFlight }, lane));
    const ms = performance.now() - started;
    return {
      events: plan.events,
      ms,
      perSecond: perSecond(plan.events, ms),
      detail: { topic: RAW_TOPIC, partitions, batch: BATCH, inFlight: plan.inFlight, acks: 'all' },
    };
  } finally {
    await producer.disconnect();
  }
}

export const RAW_DATABASE = 'bench_raw';

/** A database of a ceiling's own on the same server, emptied first (the ceiling drops it when done). */
async function scratchDatabase(url: string, database: string, appName: string): Promise<MongoStore> {
  const store = await MongoStore.connect({ url, database, logger, appName });
  await store.db.dropDatabase();
  return store;
}

/**
 * The database's ceiling for what the pipeline must write: per batch of 100 events, on the same FerretDB
 * (a database of its own, dropped afterwards; collections with the `_id` index only):
 * one insert of the request's event-store document (the 100 events in it, ADR 18), `insertMany` of 100
 * deduplication claims and one insert of the request's acceptance marker, one
 * `find({_id: {$in}})` of the batch's entities (ids derived from organisation, schema and unique ids),
 * `insertMany` of the new ones and one `bulkWrite` of `updateOne`-by-`_id` for the existing ones
 * (several events of one entity in a batch are one write: the last wins), and `insertMany` of one
 * monitoring record per event. `lanes` batches run at once, each over its own customers (as partitions do).
 */
export async function rawDatabase(
  mongoUrl: string,
  targets: Target[],
  plan: { events: number; lanes: number; customers: number; random: () => number },
): Promise<CeilingResult> {
  const store = await scratchDatabase(mongoUrl, RAW_DATABASE, 'bench-raw-database');
  const db = store.db;
  const counts = { created: 0, updated: 0, batches: 0 };
  try {
    let next = 0;
    const lane = async (laneIndex: number) => {
      while (next < plan.events) {
        const size = Math.min(BATCH, plan.events - next);
        const first = next;
        next += size;
        const events = Array.from({ length: size }, (_, i) => {
          const target = targets[(first + i) % targets.length]!;
          // This lane's customers only: n ≡ laneIndex (mod lanes).
          const slot = Math.floor(plan.random() * Math.ceil(plan.customers / plan.lanes));
          const customer = customerNumber(Math.min(plan.customers - 1, slot * plan.lanes + laneIndex));
          return { target, customer, version: first + i };
        });
        const written = await writeBatch(db, events);
        counts.created += written.created;
        counts.updated += written.updated;
        counts.batches++;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: plan.lanes }, (_, i) => lane(i)));
    const ms = performance.now() - started;
    return {
      events: plan.events,
      ms,
      perSecond: perSecond(plan.events, ms),
      detail: { ...counts, lanes: plan.lanes, batch: BATCH, database: RAW_DATABASE },
    };
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await store.close();
  }
}

export const RAW_GATEWAY_DATABASE = 'bench_raw_gateway';

/**
 * The gateway's ceiling (issue 22: "the raw producer plus the same claim writes, in one run"): per batch of
 * 100 events (one request), the least the gateway must do before it answers, one step after the other as it
 * does them: `insertMany` of the 100 deduplication claims, one insert of the request's event-store document
 * (ADR 18), the 100 inbound messages produced (the gateway's key and headers, acks=all) to the raw producer's
 * topic, and one insert of the acceptance marker; `inFlight` batches at a time. No HTTP, no validation, no
 * tracing, no edge: "gateway alone" against it says what those cost. The database is one of its own on the
 * same FerretDB (dropped afterwards); the messages go to `bench.raw-producer`.
 */
export async function rawGateway(
  brokers: string[],
  mongoUrl: string,
  targets: Target[],
  plan: { events: number; inFlight: number; customers: number; random: () => number },
): Promise<CeilingResult> {
  const { producer } = await rawTopicProducer(brokers, 'bench-raw-gateway');
  const store = await scratchDatabase(mongoUrl, RAW_GATEWAY_DATABASE, 'bench-raw-gateway');
  const db = store.db;
  try {
    let next = 0;
    const lane = async () => {
      while (next < plan.events) {
        const size = Math.min(BATCH, plan.events - next);
        const first = next;
        next += size;
        const now = new Date();
        const iso = now.toISOString();
        const expires = new Date(now.getTime() + 30 * 86_400_000);
        const owner = crypto.randomUUID();
        const events = Array.from({ length: size }, (_, i) => ({
          target: targets[(first + i) % targets.length]!,
          customer: customerNumber(Math.floor(plan.random() * plan.customers)),
          version: first + i,
        }));
        const ids = events.map(() => `evt_${crypto.randomUUID()}`);
        await db
          .collection<Doc>('dedupe')
          .insertMany(claimDocs(owner, ids, events, now, expires), { ordered: false });
        await db.collection<Doc>('inbound_requests').insertOne(requestDoc(owner, ids, events, iso, expires));
        const messages = events.map((e, i) => {
          const m = inboundMessage(e.target, e.customer, first + i, 1, RAW_TOPIC);
          return { key: m.key, value: encodeValue(m.value), headers: m.headers };
        });
        await producer.send({ topic: RAW_TOPIC, acks: -1, messages });
        await db.collection<Doc>('dedupe_accepted').insertOne({ _id: owner, expires_at: expires });
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: plan.inFlight }, lane));
    const ms = performance.now() - started;
    return {
      events: plan.events,
      ms,
      perSecond: perSecond(plan.events, ms),
      detail: { topic: RAW_TOPIC, database: RAW_GATEWAY_DATABASE, batch: BATCH, inFlight: plan.inFlight },
    };
  } finally {
    await producer.disconnect();
    await db.dropDatabase().catch(() => undefined);
    await store.close();
  }
}

type Db = MongoStore['db'];
/** The documents of the raw ceiling: every collection keyed by a string `_id`, as the services' are. */
type Doc = Document & { _id: string };

async function writeBatch(
  db: Db,
  events: Array<{ target: Target; customer: string; version: number }>,
): Promise<{ created: number; updated: number }> {
  const now = new Date();
  const iso = now.toISOString();
  const expires = new Date(now.getTime() + 30 * 86_400_000);
  const ids = events.map(() => `evt_${crypto.randomUUID()}`);
  const owner = crypto.randomUUID();
  await db
    .collection<Doc>('dedupe')
    .insertMany(claimDocs(owner, ids, events, now, expires), { ordered: false });
  await db.collection<Doc>('inbound_requests').insertOne(requestDoc(owner, ids, events, iso, expires));
  await db.collection<Doc>('dedupe_accepted').insertOne({ _id: owner, expires_at: expires });
  // One write per entity: the last event of the batch for it.
  const latest = new Map<string, { entityId: string; event: (typeof events)[number]; eventId: string }>();
  events.forEach((event, i) => {
    const key = entityKey(event.target.org, 'contact', { customer_number: event.customer });
    latest.set(key, { entityId: nameUuid(key), event, eventId: ids[i]! });
  });
  const entities = db.collection<Doc>('entities');
  const wanted = [...latest.values()];
  const found = await entities.find({ _id: { $in: wanted.map((w) => w.entityId) } }).toArray();
  const existing = new Set(found.map((d) => String(d._id)));
  const fresh = wanted.filter((w) => !existing.has(w.entityId));
  const changed = wanted.filter((w) => existing.has(w.entityId));
  if (fresh.length > 0) {
    await entities.insertMany(
      fresh.map((w) => entityDoc(w.entityId, w.event, `${w.eventId}:0`, iso)),
      { ordered: false },
    );
  }
  if (changed.length > 0) {
    const ops: AnyBulkWriteOperation<Doc>[] = changed.map((w) => ({
      updateOne: {
        filter: { _id: w.entityId },
        update: {
          $set: { ...attributes(w.event), _updated_at: iso, '_hub.applied': `${w.eventId}:0` },
          $inc: { '_hub.version': 1 },
        },
      },
    }));
    await entities.bulkWrite(ops, { ordered: false });
  }
  // The monitoring records of the batch in one bucket document, cut as the sink cuts a chunk (ADR 19).
  const records = events.map((e, i) =>
    storedRecord({
      offset: i,
      record: monitoringRecord({
        org_id: e.target.org,
        integration_id: e.target.integrationId,
        event_id: ids[i]!,
        correlation_id: ids[i]!,
        use_case_id: e.target.useCaseId,
        stage: 'entity_written',
        level: 'success',
        message: 'entity updated',
        final: true,
        received_at: iso,
        detail: { entity_schema: 'contact' },
        created_at: iso,
      }),
    }),
  );
  await db
    .collection<Doc>('monitoring_buckets')
    .insertMany(cutBuckets(0, records, expires).map((b, k) => ({ ...b, _id: `ceiling:${owner}:${k}` })));
  return { created: fresh.length, updated: changed.length };
}

/** The deduplication claims of one request's events (the gateway's `dedupe` documents, ADR 18). */
function claimDocs(
  owner: string,
  ids: string[],
  events: Array<{ target: Target }>,
  now: Date,
  expires: Date,
): Doc[] {
  return events.map((e, i) => ({
    _id: `${e.target.org}:${e.target.integrationId}:bench-${ids[i]}`,
    org_id: e.target.org,
    integration_id: e.target.integrationId,
    state: 'pending',
    owner,
    claimed_at: now,
    expires_at: expires,
    event_id: ids[i],
  }));
}

/** The event-store document of one request (libs/event-store, ADR 18); the ceiling's batch is one request. */
function requestDoc(
  owner: string,
  ids: string[],
  events: Array<{ target: Target; customer: string; version: number }>,
  iso: string,
  expires: Date,
): Doc {
  const first = events[0]!.target;
  const items = events.map((e, i) => ({
    event_id: ids[i]!,
    event_type: 'UPDATE',
    use_case_slug: e.target.useCaseSlug,
    timestamp: iso,
    format: 'json',
    payload: contactPayload(e.customer, e.version),
    deduplication_id: `bench-${ids[i]}`,
    correlation_id: ids[i]!,
    ...(e.target.grouped ? { group_id: e.customer } : {}),
    use_case_id: e.target.useCaseId,
    status: 'success',
    message: 'Event queued for processing',
  }));
  return {
    _id: owner,
    org_id: first.org,
    integration_id: first.integrationId,
    event_time: iso,
    expires_at: expires,
    event_ids: ids,
    correlation_ids: ids,
    event_types: ['UPDATE'],
    object_types: [],
    use_case_ids: [...new Set(events.map((e) => e.target.useCaseId))],
    events: JSON.stringify(items),
  };
}

const attributes = (e: { customer: string; version: number }) => ({
  customer_number: e.customer,
  first_name: `John ${e.version}`,
  last_name: 'Doe',
  email: [{ email: `${e.customer.toLowerCase()}@example.com` }],
});

function entityDoc(
  entityId: string,
  e: { target: Target; customer: string; version: number },
  updateId: string,
  iso: string,
): Doc {
  return {
    _id: entityId,
    _org: e.target.org,
    _schema: 'contact',
    _created_at: iso,
    _updated_at: iso,
    ...attributes(e),
    _hub: {
      create_key: entityKey(e.target.org, 'contact', { customer_number: e.customer }),
      version: 1,
      applied: updateId,
      outbox: '',
    },
  };
}
