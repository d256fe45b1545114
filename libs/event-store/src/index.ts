import { randomBytes, randomUUID } from 'node:crypto';
import { type Collection, type Filter, insertManyNew, type MongoStore } from '@hub/mongo';

/** One received event as stored for `queryEvents` and `replayEvents`. */
export interface StoredEvent {
  event_id: string;
  org_id: string;
  integration_id: string;
  /** When we accepted it (ISO 8601 UTC); the keyset order of queries. */
  event_time: string;
  event_type?: string;
  /** v1/v2 `object_type`, v3 `event_name`. */
  object_type?: string;
  use_case_slug?: string;
  timestamp: string;
  format: 'json' | 'xml';
  /** The payload as received, serialised. */
  payload: string;
  deduplication_id?: string;
  correlation_id: string;
  group_id?: string;
  use_case_id: string | null;
  /** The answer the event got. */
  status: 'success' | 'error' | 'ignored';
  message?: string;
  /** Set on a replay: the event it replays. */
  replay_of?: string;
}

/** An event inside a request document: what its request document does not hold once for all. */
type RequestItem = Omit<StoredEvent, 'org_id' | 'integration_id' | 'event_time'>;

/**
 * The events of one request (one organisation, integration and `event_time`) in one document of
 * `inbound_requests` (docs/adr/0018). The id arrays are what queries find a request by (multikey indexes on
 * MongoDB, libs/mongo plan.ts); `events` holds the events themselves, in the order of the request, as one
 * JSON text (an array of `RequestItem`): no query looks inside it, and FerretDB stores one string for a
 * fraction of the cost of 100 nested documents (ADR 18, amended 2026-12). Documents written before hold
 * the array itself; both are read (`unpack`).
 */
interface RequestDoc {
  /**
   * The request's id (the gateway's claim owner); a request too big for one document continues in
   * `<id>/1`, `<id>/2`…; `<id>/t` holds events a takeover stored for request `<id>`, which died before storing.
   */
  _id: string;
  org_id: string;
  integration_id: string;
  event_time: string;
  expires_at: Date;
  event_ids: string[];
  correlation_ids: string[];
  event_types: string[];
  object_types: string[];
  use_case_ids: string[];
  events: string | RequestItem[];
  /** On the first document of a request split over several: how many there are (`<id>/1`, … hold the rest). */
  parts?: number;
}

/** A stored event of the layout before ADR 18 (`inbound_events`, one document per event), read until it expires. */
type LegacyDoc = Omit<StoredEvent, 'event_id'> & { _id: string; expires_at: Date };

export interface EventQuery {
  event_id?: string;
  event_type?: string;
  correlation_id?: string;
  object_type?: string;
  use_case_id?: string;
  limit: number;
  after?: { event_time: string; event_id: string };
}

export const REQUESTS_COLLECTION = 'inbound_requests';
/** The per-event collection of earlier versions: read (never written) until its documents expire. */
export const LEGACY_EVENTS_COLLECTION = 'inbound_events';

/**
 * The bytes of events one request document takes before the request continues in another: MongoDB refuses
 * a document above 16 MiB, and a request may carry MAX_EVENTS_PER_REQUEST payloads of MAX_PAYLOAD_BYTES.
 * Half of it leaves room for the field names, the id arrays and BSON's own overhead.
 */
export const REQUEST_DOC_BYTES = 8 * 1024 * 1024;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const base32 = (x: number | bigint, digits: number) => {
  let out = '';
  let v = BigInt(x);
  for (let i = 0; i < digits; i++, v >>= 5n) out = CROCKFORD[Number(v & 31n)] + out;
  return out;
};

/** Events a request can number in its event ids (4 base32 characters): MAX_EVENTS_PER_REQUEST's maximum. */
export const REQUEST_EVENT_IDS = 32 ** 4;

/**
 * The event ids of one request (docs/adr/0018): `evt_` and a ULID-shaped id (decision 11: sortable by its
 * millisecond) whose first 22 characters (10 of time, 12 random) are the request's id, shared by its
 * events, and whose last 4 number the event in the request. The request's document has that id, so an
 * event is found by `_id` from its own id (`requestOfEventId`), which FerretDB answers without a scan.
 */
export function requestEventIds(now = Date.now()): { requestId: string; next(): string } {
  let random = 0n;
  for (const b of randomBytes(8)) random = (random << 8n) | BigInt(b);
  const requestId = base32(now, 10) + base32(random, 12);
  let n = 0;
  return {
    requestId,
    next: () =>
      n < REQUEST_EVENT_IDS
        ? `evt_${requestId}${base32(n++, 4)}`
        : (() => {
            throw new Error(`a request numbers at most ${REQUEST_EVENT_IDS} event ids`);
          })(),
  };
}

/** The request document an event id points to (`requestEventIds`), if it has the shape. */
export function requestOfEventId(eventId: string): string | undefined {
  return /^evt_[0-9A-HJKMNP-TV-Z]{26}$/.test(eventId) ? eventId.slice(4, 26) : undefined;
}

/** Request documents read per round trip by `query`: a page is usually one or two of them. */
const QUERY_BATCH = 8;

/**
 * The stored inbound events, always scoped by organisation and integration: one document per request
 * (`inbound_requests`, docs/adr/0018), read together with the per-event documents earlier versions wrote
 * (`inbound_events`) until those expire. Kept for `retentionDays` (expired documents are ignored by reads,
 * and removed by their TTL index on MongoDB or the gateway's sweeper on FerretDB: libs/mongo retention.ts).
 * Indexes: libs/mongo plan.ts.
 */
export class EventStore {
  private readonly requests: Collection<RequestDoc>;
  private readonly legacy: Collection<LegacyDoc>;

  constructor(
    store: MongoStore,
    private readonly retentionDays = 30,
  ) {
    this.requests = store.collection<RequestDoc>(REQUESTS_COLLECTION);
    this.legacy = store.collection<LegacyDoc>(LEGACY_EVENTS_COLLECTION);
  }

  /**
   * Stores the events of one request (or replay) under `requestId`, resolving with it. An event id in
   * `reused` that is stored already is left out: a retry that took over a dead request's claim reuses its
   * event id, and the first copy stays the one queries show. Events of several organisations, integrations
   * or event times go to a document each; a request bigger than REQUEST_DOC_BYTES to several, split in
   * request order. Anything but "stored already" is thrown.
   */
  async insert(
    events: StoredEvent[],
    options: { requestId?: string; reused?: readonly string[] } = {},
  ): Promise<string> {
    const requestId = options.requestId ?? randomUUID();
    const expires = new Date(Date.now() + this.retentionDays * 86_400_000);
    let own = events;
    const adopted: RequestDoc[] = [];
    if (options.reused && options.reused.length > 0) {
      const first = events[0]!;
      const stored = await this.storedIds(first.org_id, first.integration_id, options.reused);
      const reused = new Set(options.reused);
      own = [];
      // A reused id not stored yet (the request that numbered it died before storing) is stored in
      // `<that request's id>/t`, where a read by id looks (findEvents); a second taker's copy is skipped.
      const orphans = new Map<string, StoredEvent[]>();
      for (const e of events) {
        if (stored.has(e.event_id)) continue;
        const origin = reused.has(e.event_id) ? requestOfEventId(e.event_id) : undefined;
        if (origin && origin !== requestId) orphans.set(origin, [...(orphans.get(origin) ?? []), e]);
        else own.push(e);
      }
      for (const [origin, list] of orphans)
        adopted.push(requestDoc(`${origin}/t`, list.map(packed), expires));
    }
    const docs = [...(own.length > 0 ? requestDocs(requestId, own, expires) : []), ...adopted];
    if (docs.length > 0) await insertManyNew(this.requests, docs);
    return requestId;
  }

  /** Which of `eventIds` are stored already (expired or not) in this integration. */
  private async storedIds(
    orgId: string,
    integrationId: string,
    eventIds: readonly string[],
  ): Promise<Set<string>> {
    const [found, legacy] = await Promise.all([
      this.findEvents(orgId, integrationId, eventIds),
      this.legacy.find({ _id: { $in: [...eventIds] } }, { projection: { _id: 1 } }).toArray(),
    ]);
    return new Set([...found.keys(), ...legacy.map((d) => d._id)]);
  }

  /**
   * The request documents' events among `eventIds` in this integration (unexpired at `now`, if given): read
   * by `_id`, the request id in each event id (`requestOfEventId`; with a split request's further parts),
   * which FerretDB answers without a scan (`<id>/t` too: see `insert`); ids of another shape by the
   * `event_ids` arrays (an index on MongoDB, a scan on FerretDB). An id stored twice gives its first copy.
   */
  private async findEvents(
    orgId: string,
    integrationId: string,
    eventIds: readonly string[],
    now?: Date,
  ): Promise<Map<string, StoredEvent>> {
    const scope: Filter<RequestDoc> = {
      org_id: orgId,
      integration_id: integrationId,
      ...(now ? { expires_at: { $gt: now } } : {}),
    };
    const wanted = new Set(eventIds);
    const out = new Map<string, StoredEvent>();
    const take = (docs: RequestDoc[]) => {
      for (const doc of docs.sort(oldestFirst))
        for (const e of unpack(doc))
          if (wanted.has(e.event_id) && !out.has(e.event_id)) out.set(e.event_id, e);
    };
    // An id numbered under a request is in its document (or a further part), or, stored by a takeover
    // after that request died before storing, in `<id>/t`; anywhere else it was never stored (answered
    // `skipped`, or refused). Only ids of another shape are looked up in the arrays.
    const derived = [...new Set(eventIds.flatMap((id) => requestOfEventId(id) ?? []))];
    if (derived.length > 0) {
      const firsts = await this.requests
        .find({ ...scope, _id: { $in: [...derived, ...derived.map((d) => `${d}/t`)] } })
        .toArray();
      const parts = firsts.flatMap((d) =>
        Array.from({ length: (d.parts ?? 1) - 1 }, (_, i) => `${d._id}/${i + 1}`),
      );
      take([
        ...firsts,
        ...(parts.length > 0 ? await this.requests.find({ ...scope, _id: { $in: parts } }).toArray() : []),
      ]);
    }
    const missing = eventIds.filter((id) => !out.has(id) && !requestOfEventId(id));
    if (missing.length > 0)
      take(await this.requests.find({ ...scope, event_ids: { $in: missing } }).toArray());
    return out;
  }

  /** Removes what `insert` stored under `requestId` (a request or replay that was never accepted). */
  async remove(requestId: string): Promise<void> {
    // The request's documents: `<id>` and `<id>/<n>` ('/' sorts just below '0').
    await this.requests.deleteMany({ _id: { $gte: requestId, $lt: `${requestId}0` } });
  }

  /** Newest first, keyset-paginated on (event_time, event_id); returns up to `limit + 1` to tell `has_more`. */
  async query(orgId: string, integrationId: string, q: EventQuery): Promise<StoredEvent[]> {
    const now = new Date();
    const want = q.limit + 1;
    const [fromRequests, fromLegacy] = await Promise.all([
      this.queryRequests(orgId, integrationId, q, now),
      this.queryLegacy(orgId, integrationId, q, now),
    ]);
    return [...fromRequests, ...fromLegacy].sort(newestFirst).slice(0, want);
  }

  /**
   * The first `limit + 1` matching events of the request documents: the documents are read newest first
   * (found by the id arrays and the time), unpacked and filtered event by event, until `limit + 1` events
   * are found and the documents of the last one's `event_time` are all read (several requests may share
   * one): the documents read are those of the page, not of the integration.
   */
  private async queryRequests(
    orgId: string,
    integrationId: string,
    q: EventQuery,
    now: Date,
  ): Promise<StoredEvent[]> {
    const and: Filter<RequestDoc>[] = [
      { org_id: orgId },
      { integration_id: integrationId },
      { expires_at: { $gt: now } },
    ];
    if (q.event_id) {
      // One event: found by `_id` from its id (see findEvents), then held to the other filters.
      const e = (await this.findEvents(orgId, integrationId, [q.event_id], now)).get(q.event_id);
      return e && matches(e, q) ? [e] : [];
    }
    if (q.event_type) and.push({ event_types: q.event_type });
    if (q.correlation_id) and.push({ correlation_ids: q.correlation_id });
    if (q.object_type) and.push({ object_types: q.object_type });
    if (q.use_case_id) and.push({ use_case_ids: q.use_case_id });
    if (q.after) and.push({ event_time: { $lte: q.after.event_time } });
    const cursor = this.requests
      .find({ $and: and })
      .sort({ event_time: -1, _id: -1 })
      .batchSize(Math.min(QUERY_BATCH, q.limit + 1));
    const found: StoredEvent[] = [];
    let time: string | undefined;
    try {
      for await (const doc of cursor) {
        if (found.length > q.limit && doc.event_time !== time) break;
        time = doc.event_time;
        for (const e of unpack(doc)) if (matches(e, q)) found.push(e);
      }
    } finally {
      await cursor.close();
    }
    return found;
  }

  /** The per-event documents of earlier versions, as they were queried then. */
  private async queryLegacy(
    orgId: string,
    integrationId: string,
    q: EventQuery,
    now: Date,
  ): Promise<StoredEvent[]> {
    const and: Filter<LegacyDoc>[] = [
      { org_id: orgId },
      { integration_id: integrationId },
      { expires_at: { $gt: now } },
    ];
    if (q.event_id) and.push({ _id: q.event_id });
    if (q.event_type) and.push({ event_type: q.event_type });
    if (q.correlation_id) and.push({ correlation_id: q.correlation_id });
    if (q.object_type) and.push({ object_type: q.object_type });
    if (q.use_case_id) and.push({ use_case_id: q.use_case_id });
    if (q.after) {
      and.push({
        $or: [
          { event_time: { $lt: q.after.event_time } },
          { event_time: q.after.event_time, _id: { $lt: q.after.event_id } },
        ],
      });
    }
    const docs = await this.legacy
      .find({ $and: and })
      .sort({ event_time: -1, _id: -1 })
      .limit(q.limit + 1)
      .toArray();
    return docs.map(fromLegacy);
  }

  /** The stored events among `eventIds` of this integration, by id (the first stored copy of an id). */
  async getMany(orgId: string, integrationId: string, eventIds: string[]): Promise<Map<string, StoredEvent>> {
    const now = new Date();
    const [found, legacy] = await Promise.all([
      this.findEvents(orgId, integrationId, eventIds, now),
      this.legacy
        .find({
          _id: { $in: eventIds },
          org_id: orgId,
          integration_id: integrationId,
          expires_at: { $gt: now },
        })
        .toArray(),
    ]);
    const out = new Map(legacy.map((d) => [d._id, fromLegacy(d)]));
    for (const [id, e] of found) if (!out.has(id)) out.set(id, e);
    return out;
  }
}

/**
 * The request documents of `events`: one per (organisation, integration, event time), in the order of
 * first appearance, each split in request order where its events pass REQUEST_DOC_BYTES. The first
 * document is `requestId`, the next `<requestId>/1`, and so on: the same events give the same documents.
 */
export function requestDocs(requestId: string, events: StoredEvent[], expires: Date): RequestDoc[] {
  const groups = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const key = JSON.stringify([e.org_id, e.integration_id, e.event_time]);
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const docs: RequestDoc[] = [];
  for (const group of groups.values()) {
    let part: Packed[] = [];
    let bytes = 0;
    const flush = () => {
      if (part.length === 0) return;
      docs.push(requestDoc(docs.length === 0 ? requestId : `${requestId}/${docs.length}`, part, expires));
      part = [];
      bytes = 0;
    };
    for (const e of group) {
      const p = packed(e);
      const size = eventBytes(p);
      if (part.length > 0 && bytes + size > REQUEST_DOC_BYTES) flush();
      part.push(p);
      bytes += size;
    }
    flush();
  }
  if (docs.length > 1) docs[0]!.parts = docs.length;
  return docs;
}

/** An event and its `RequestItem` as JSON text, made once for both the size and the document. */
interface Packed {
  event: StoredEvent;
  json: string;
}

function packed(event: StoredEvent): Packed {
  const { org_id: _o, integration_id: _i, event_time: _t, ...item } = event;
  return { event, json: JSON.stringify(item) };
}

/** An event's share of a request document: its JSON text, its ids in the id arrays, and framing. */
function eventBytes({ event: e, json }: Packed): number {
  let bytes = 256 + Buffer.byteLength(json);
  for (const v of [e.event_id, e.correlation_id, e.event_type, e.object_type, e.use_case_id])
    if (typeof v === 'string') bytes += Buffer.byteLength(v);
  return bytes;
}

function requestDoc(id: string, part: Packed[], expires: Date): RequestDoc {
  const events = part.map((p) => p.event);
  const first = events[0]!;
  const distinct = (pick: (e: StoredEvent) => string | null | undefined) => [
    ...new Set(events.flatMap((e) => (pick(e) ? [pick(e)!] : []))),
  ];
  return {
    _id: id,
    org_id: first.org_id,
    integration_id: first.integration_id,
    event_time: first.event_time,
    expires_at: expires,
    event_ids: events.map((e) => e.event_id),
    correlation_ids: distinct((e) => e.correlation_id),
    event_types: distinct((e) => e.event_type),
    object_types: distinct((e) => e.object_type),
    use_case_ids: distinct((e) => e.use_case_id),
    events: `[${part.map((p) => p.json).join(',')}]`,
  };
}

function unpack(doc: RequestDoc): StoredEvent[] {
  const items = typeof doc.events === 'string' ? (JSON.parse(doc.events) as RequestItem[]) : doc.events;
  return items.map(({ event_id, ...rest }) => ({
    event_id,
    org_id: doc.org_id,
    integration_id: doc.integration_id,
    event_time: doc.event_time,
    ...rest,
  }));
}

/** The query's filters and cursor applied to one unpacked event (its document matched them as a whole). */
function matches(e: StoredEvent, q: EventQuery): boolean {
  if (q.event_id && e.event_id !== q.event_id) return false;
  if (q.event_type && e.event_type !== q.event_type) return false;
  if (q.correlation_id && e.correlation_id !== q.correlation_id) return false;
  if (q.object_type && e.object_type !== q.object_type) return false;
  if (q.use_case_id && e.use_case_id !== q.use_case_id) return false;
  if (q.after && newestFirst(e, q.after) <= 0) return false;
  return true;
}

/** The queries' order: event_time, then event_id, both descending (as MongoDB compares ASCII strings). */
function newestFirst(
  a: { event_time: string; event_id: string },
  b: { event_time: string; event_id: string },
): number {
  if (a.event_time !== b.event_time) return a.event_time < b.event_time ? 1 : -1;
  if (a.event_id !== b.event_id) return a.event_id < b.event_id ? 1 : -1;
  return 0;
}

/** Request documents in the order they were stored: by event_time, then `_id`. */
function oldestFirst(a: RequestDoc, b: RequestDoc): number {
  if (a.event_time !== b.event_time) return a.event_time < b.event_time ? -1 : 1;
  return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
}

function fromLegacy(doc: LegacyDoc): StoredEvent {
  const { _id, expires_at: _e, ...rest } = doc;
  return { event_id: _id, ...rest };
}
