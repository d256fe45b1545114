import { type Collection, type Filter, insertManyNew, type MongoStore } from '@hub/mongo';

/** One received event as stored for `queryEvents` and `replayEvents` (collection `inbound_events`). */
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

type StoredDoc = Omit<StoredEvent, 'event_id'> & { _id: string; expires_at: Date };

export interface EventQuery {
  event_id?: string;
  event_type?: string;
  correlation_id?: string;
  object_type?: string;
  use_case_id?: string;
  limit: number;
  after?: { event_time: string; event_id: string };
}

/**
 * The stored inbound events, always scoped by organisation and integration. Kept for `retentionDays`
 * (expired documents are ignored by reads, and removed by their TTL index on MongoDB or the gateway's
 * sweeper on FerretDB: libs/mongo retention.ts). Indexes: libs/mongo plan.ts.
 */
export class EventStore {
  private readonly docs: Collection<StoredDoc>;

  constructor(
    store: MongoStore,
    private readonly retentionDays = 30,
  ) {
    this.docs = store.collection<StoredDoc>('inbound_events');
  }

  async insert(events: StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    const expires = new Date(Date.now() + this.retentionDays * 86_400_000);
    // An event id stored already is skipped: a retry that took over a dead request's claim reuses its
    // event id. Anything else (a connection cut off mid-command included) is thrown.
    await insertManyNew(
      this.docs,
      events.map(({ event_id, ...rest }) => ({ _id: event_id, ...rest, expires_at: expires })),
    );
  }

  /** Removes events whose hand-over failed (they were never accepted). */
  async remove(eventIds: string[]): Promise<void> {
    if (eventIds.length > 0) await this.docs.deleteMany({ _id: { $in: eventIds } });
  }

  /** Newest first, keyset-paginated on (event_time, event_id); returns up to `limit + 1` to tell `has_more`. */
  async query(orgId: string, integrationId: string, q: EventQuery): Promise<StoredEvent[]> {
    const and: Filter<StoredDoc>[] = [
      { org_id: orgId },
      { integration_id: integrationId },
      { expires_at: { $gt: new Date() } },
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
    const docs = await this.docs
      .find({ $and: and })
      .sort({ event_time: -1, _id: -1 })
      .limit(q.limit + 1)
      .toArray();
    return docs.map(toEvent);
  }

  async getMany(orgId: string, integrationId: string, eventIds: string[]): Promise<Map<string, StoredEvent>> {
    const docs = await this.docs
      .find({
        _id: { $in: eventIds },
        org_id: orgId,
        integration_id: integrationId,
        expires_at: { $gt: new Date() },
      })
      .toArray();
    return new Map(docs.map((d) => [d._id, toEvent(d)]));
  }
}

function toEvent(doc: StoredDoc): StoredEvent {
  const { _id, expires_at: _e, ...rest } = doc;
  return { event_id: _id, ...rest };
}
