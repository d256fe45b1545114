/**
 * The database layout of the hub: every collection of every service with its indexes and TTL, declared
 * here once. `npm run db -- --check|--apply` (and the Kubernetes layout Job) holds the database against it;
 * services prepare the collections they own at start-up (`prepareLayout`, `DB_LAYOUT`); the retention
 * helper (retention.ts) finds each collection's expiry field in it. docs/production-mongodb.md lists the
 * same indexes with the queries they serve; keep the two together.
 *
 * The plan is what MongoDB gets. On FerretDB (the local stack and tests) only the unique indexes and the
 * indexes sweeps read (TTL fields, plain, without expiry; `sweep`) are made and ours that exist are dropped: FerretDB 1.24
 * answers no other query from a secondary index, so each one only slows every write (docs/adr/0008); it
 * has no TTL, and retention.ts sweeps instead, reading the expired documents from that index (patched
 * FerretDB, docs/adr/0017).
 */

/** An index as planned. `serves` says which query needs it (the reason it exists). */
export interface PlannedIndex {
  name: string;
  key: Record<string, 1 | -1>;
  unique?: true;
  /**
   * A TTL index: MongoDB deletes a document once the date in the index's one field is this many seconds
   * past. Ours store the moment of expiry (`expires_at`), so 0.
   */
  expireAfterSeconds?: number;
  /**
   * A periodic sweep deletes by a range of this index's one field (`$lt` a date or an ISO string): the
   * index is made on FerretDB too (plain), where the patched FerretDB answers that range from it
   * (docs/adr/0017). TTL indexes are swept on FerretDB without saying so.
   */
  sweep?: true;
  /** The fields a wildcard (`$**`) index covers or leaves out. */
  wildcardProjection?: Record<string, 0 | 1>;
  /** The first MongoDB version (major, minor) that can build it; older ones get `fallback`. */
  since?: [number, number];
  fallback?: Omit<PlannedIndex, 'since' | 'fallback'>;
  serves: string;
}

export interface CollectionPlan {
  collection: string;
  /** The service that writes it (for the documentation; several may read it). */
  owner: string;
  indexes: PlannedIndex[];
  /** Names of indexes earlier layouts made: dropped wherever they are found. */
  retired?: string[];
}

/** Bookkeeping fields of an entity, never searched as attributes (repository.ts of the entity-writer). */
const ENTITY_BOOKKEEPING = {
  _org: 0,
  _schema: 0,
  _hub: 0,
  _created_at: 0,
  _updated_at: 0,
  _deleted_at: 0,
} as const;

/** Documents expire at their stored `expires_at` (a date; the services set it from their retention settings). */
const expiresAt = (serves: string): PlannedIndex => ({
  name: 'expires_at',
  key: { expires_at: 1 },
  expireAfterSeconds: 0,
  serves,
});

export const DATABASE_PLAN: readonly CollectionPlan[] = [
  {
    collection: 'dedupe',
    owner: 'ingest-gateway',
    indexes: [expiresAt('expiry of deduplication claims (DEDUPE_WINDOW_HOURS); claims are read by _id')],
  },
  {
    collection: 'dedupe_accepted',
    owner: 'ingest-gateway',
    indexes: [
      expiresAt(
        'expiry of acceptance markers (one per accepted request, _id = its claims’ owner; per claim before ADR 18); read by _id',
      ),
    ],
  },
  {
    // One document per request (docs/adr/0018): its events, and the arrays of ids queries find it by.
    collection: 'inbound_requests',
    owner: 'ingest-gateway',
    indexes: [
      {
        name: 'org_integration_time',
        key: { org_id: 1, integration_id: 1, event_time: -1, _id: -1 },
        serves:
          'queryEvents: an integration’s stored requests, newest first (their events keyset on event_time, event_id)',
      },
      {
        name: 'org_integration_event_ids',
        key: { org_id: 1, integration_id: 1, event_ids: 1 },
        serves:
          'queryEvents by event_id, replayEvents and the monitoring detail (getMany), takeovers of a reused event id',
      },
      {
        name: 'org_integration_correlation_time',
        key: { org_id: 1, integration_id: 1, correlation_ids: 1, event_time: -1, _id: -1 },
        serves: 'queryEvents filtered by correlation_id, newest first (keyset)',
      },
      expiresAt('expiry of stored requests (EVENT_RETENTION_DAYS)'),
    ],
  },
  {
    // The per-event store before ADR 18: read, no longer written, until its documents expire.
    collection: 'inbound_events',
    owner: 'ingest-gateway',
    indexes: [
      {
        name: 'org_integration_time',
        key: { org_id: 1, integration_id: 1, event_time: -1, _id: -1 },
        serves: 'queryEvents: an integration’s stored events, newest first, keyset (event_time, event_id)',
      },
      {
        name: 'org_integration_correlation_time',
        key: { org_id: 1, integration_id: 1, correlation_id: 1, event_time: -1, _id: -1 },
        serves: 'queryEvents filtered by correlation_id, newest first (keyset)',
      },
      expiresAt('expiry of stored events (EVENT_RETENTION_DAYS)'),
    ],
  },
  {
    collection: 'rate_limit_windows',
    owner: 'every HTTP service (WindowCounter on MongoDB)',
    indexes: [
      expiresAt('expiry of request counters (one document per organisation and minute, read by _id)'),
    ],
  },
  {
    collection: 'rate_limit_slots',
    owner: 'every HTTP service (WindowCounter on FerretDB)',
    indexes: [
      expiresAt(
        'expiry of request slots (FerretDB’s counter; on MongoDB only slots left from before the $inc counter)',
      ),
    ],
  },
  {
    // One document per lease held (Leases, lease.ts), read and written by `_id` only; deleted on release.
    collection: 'leases',
    owner: 'config-service (one growing configuration change per organisation at a time)',
    indexes: [],
  },
  {
    collection: 'integrations',
    owner: 'config-service',
    indexes: [
      {
        name: 'org_created',
        key: { orgId: 1, created_at: 1 },
        serves: 'listIntegrations and countIntegrations of an organisation, oldest first',
      },
    ],
  },
  {
    collection: 'use_cases',
    owner: 'config-service',
    indexes: [
      {
        name: 'integration_slug',
        key: { integrationId: 1, slug: 1 },
        unique: true,
        serves: 'one use case per slug and integration (a concurrent create with the same slug is refused)',
      },
      {
        name: 'org_integration',
        key: { orgId: 1, integrationId: 1 },
        serves: 'listUseCases, and the cascade of an integration delete',
      },
    ],
  },
  {
    collection: 'use_case_history',
    owner: 'config-service',
    indexes: [
      {
        name: 'org_use_case_time',
        key: { orgId: 1, useCaseId: 1, history_created_at: -1, _id: -1 },
        serves: 'a use case’s history, newest first (keyset); the cascade of a use case delete',
      },
      {
        name: 'org_integration',
        key: { orgId: 1, integrationId: 1 },
        serves: 'the cascade of an integration delete',
      },
    ],
  },
  {
    collection: 'app_mappings',
    owner: 'config-service',
    indexes: [
      {
        name: 'org_integration',
        key: { orgId: 1, integration_id: 1 },
        serves: 'an integration’s app mappings, and the cascade of an integration delete',
      },
    ],
  },
  {
    collection: 'monitoring_buckets',
    owner: 'config-service (sink)',
    indexes: [
      {
        name: 'integration_time',
        key: { integration_ids: 1, max_created_at: -1 },
        serves:
          'monitoring pages, newest first (by each bucket’s latest record), and statistics of an integration over a time range (docs/adr/0019)',
      },
      {
        name: 'event_ids',
        key: { event_ids: 1 },
        serves: 'the records of one event (associated records), oldest first',
      },
      {
        name: 'correlation_ids',
        key: { correlation_ids: 1 },
        serves: 'traces by correlation id',
      },
      expiresAt('expiry of monitoring buckets (MONITORING_RETENTION_DAYS)'),
    ],
  },
  {
    collection: 'monitoring_events',
    owner: 'config-service (sink; read until it expires, docs/adr/0019)',
    indexes: [
      {
        name: 'org_integration_time',
        key: { org_id: 1, integration_id: 1, created_at: -1, _id: -1 },
        serves:
          'monitoring pages, newest first (keyset), statistics and chronological reads of an integration',
      },
      {
        name: 'org_correlation',
        key: { org_id: 1, correlation_id: 1 },
        serves: 'traces by correlation id',
      },
      { name: 'org_event', key: { org_id: 1, event_id: 1 }, serves: 'the records of one event' },
      expiresAt('expiry of monitoring records (MONITORING_RETENTION_DAYS)'),
    ],
  },
  {
    collection: 'entities',
    owner: 'entity-writer',
    retired: ['create_key'],
    indexes: [
      {
        name: 'org_schema_id',
        key: { _org: 1, _schema: 1, _id: 1 },
        serves: 'entity search without attributes (keyset by _id), and the scope of every lookup and prune',
      },
      {
        name: 'org_schema_attributes',
        key: { _org: 1, _schema: 1, '$**': 1 },
        wildcardProjection: ENTITY_BOOKKEEPING,
        since: [7, 0],
        // MongoDB 6.x has no compound wildcard index: a wildcard index on the attributes alone, the
        // organisation and schema then filtered on the documents it finds.
        fallback: {
          name: 'attributes',
          key: { '$**': 1 },
          wildcardProjection: ENTITY_BOOKKEEPING,
          serves: 'as org_schema_attributes, on MongoDB 6.x',
        },
        serves:
          'entity search and matching on an attribute (equality, nested email/phone values), and lookup() by unique ids when an organisation has several key sets',
      },
      {
        name: 'org_schema_links',
        key: { _org: 1, _schema: 1, '_hub.links': 1 },
        serves: 'prune scopes: the entities of a schema that link to an entity',
      },
      {
        name: 'deleted_at',
        key: { _deleted_at: 1 },
        sweep: true,
        serves: 'the purge of entities soft-deleted more than 30 days ago (an ISO string: not a TTL)',
      },
    ],
  },
  {
    collection: 'meter_readings',
    owner: 'entity-writer',
    retired: ['create_key', 'org_meter_timestamp'],
    indexes: [
      {
        name: 'org_meter_external_id',
        key: { _org: 1, meter_id: 1, external_id: 1 },
        serves: 'readings matched by external_id, and a prune scope’s readings of a meter',
      },
      {
        name: 'org_meter_counter_day',
        key: { _org: 1, meter_id: 1, counter_id: 1, direction: 1, berlin_day: 1 },
        serves: 'readings matched strict-date (meter, counter, direction, Berlin day)',
      },
      {
        name: 'org_meter_timestamp_id',
        key: { _org: 1, meter_id: 1, timestamp: 1, _id: 1 },
        serves: 'ofMeter: a meter’s readings, oldest first (sorted by timestamp, _id)',
      },
    ],
  },
  { collection: 'entity_key_sets', owner: 'entity-writer', indexes: [] },
  { collection: 'writer_prune_runs', owner: 'entity-writer', indexes: [] },
];
