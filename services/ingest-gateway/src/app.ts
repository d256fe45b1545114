import { ConfigView, Topics } from '@hub/contracts';
import { EventStore } from '@hub/event-store';
import {
  authSettingsFrom,
  badRequest,
  Counter,
  combine,
  createHttpServer,
  createMetrics,
  GRANTS,
  registerAuth,
  registerConfigViewMetrics,
  registerMetrics,
  registerProbes,
  registerRateLimit,
  requireGrant,
} from '@hub/http';
import type { KafkaClient, MessageProducer } from '@hub/kafka';
import { mirrorInto } from '@hub/kafka';
import {
  isUnavailableError,
  type MongoStore,
  prepareLayout,
  RATE_LIMIT_COLLECTIONS,
  WindowCounter,
} from '@hub/mongo';
import type { Logger } from '@hub/observability';
import type { Static } from 'typebox';
import type { GatewayConfig } from './config.js';
import { DedupeStore } from './dedupe.js';
import { type EventResult, type IncomingEvent, type IngestDeps, ingest, tooManyEvents } from './ingest.js';
import {
  type ErpEventV2,
  ErpUpdatesEventsV1Request,
  ErpUpdatesEventsV2Request,
  ErpUpdatesEventsV3Request,
} from './schemas.js';

export interface GatewayDeps {
  logger: Logger;
  kafka: KafkaClient;
  mongo: MongoStore;
  producer: MessageProducer;
}

/** Configuration records held undecoded at most (ADR 0015, decision 23): four organisations at their budget. */
const UNDECODED_CONFIG_BYTES = 64 * 1024 * 1024;

/** The ingest gateway: the events endpoints. Config comes from the config topic, mirrored in memory. */
export async function buildApp(config: GatewayConfig, deps: GatewayDeps) {
  const app = createHttpServer({
    logger: deps.logger,
    bodyLimit: config.MAX_BODY_BYTES,
    isUnavailable: isUnavailableError,
  });
  // Routing needs no mapping configuration: the gateway does not hold them (ADR 0015, decision 14). A
  // snapshot is decoded when its organisation first sends to the integration, so the mirror's catch-up,
  // which every request waits for, does not decode other organisations' snapshots (decision 23); what
  // waits undecoded is bounded, the oldest decoded (keeping only routing) past the bound.
  const view = new ConfigView({
    configurations: false,
    maxUndecodedBytes: UNDECODED_CONFIG_BYTES,
    onUnreadable: (integrationId, err) =>
      deps.logger.error({ err, integrationId }, 'skipping unreadable config record'),
  });
  const mirror = mirrorInto(deps.kafka, {
    topic: Topics.configChanges,
    view: view,
    what: 'config record',
    logger: deps.logger,
  });
  const dedupe = new DedupeStore(deps.mongo, {
    windowMs: config.DEDUPE_WINDOW_HOURS * 3600_000,
    // A taker keeps the dead request's event id (ADR 4), so taking over a claim whose request is only
    // slow is harmless: 10 s bounds how long a retry after a gateway crash waits.
    staleAfterMs: 10_000,
    waitMs: 5_000,
  });
  await prepareLayout(deps.mongo, COLLECTIONS_OWNED, config.DB_LAYOUT, deps.logger);
  const events = new EventStore(deps.mongo, config.EVENT_RETENTION_DAYS);
  const ingestDeps: IngestDeps = {
    config: view,
    mirror,
    dedupe,
    events,
    producer: deps.producer,
    logger: deps.logger,
    limits: {
      maxEvents: config.MAX_EVENTS_PER_REQUEST,
      maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
      catchUpTimeoutMs: config.CONFIG_CATCHUP_TIMEOUT_MS,
    },
  };
  let closing = false;

  await registerAuth(app, authSettingsFrom(config));
  const requestCounter = new WindowCounter(deps.mongo);
  registerRateLimit(app, {
    limit: config.RATE_LIMIT_PER_MINUTE,
    windowMs: 60_000,
    hit: (key, windowMs, limit) => requestCounter.hit(key, windowMs, limit),
  });
  const metrics = createMetrics('ingest-gateway');
  const ingested = new Counter({
    name: 'hub_ingested_events_total',
    help: 'Events answered by the events endpoints, by API version and result status',
    labelNames: ['version', 'status'] as const,
    registers: [metrics],
  });
  registerMetrics(app, metrics);
  registerConfigViewMetrics(metrics, view);
  const counted = async (version: string, answer: Promise<{ results: EventResult[] }>) => {
    const result = await answer;
    for (const r of result.results) ingested.inc({ version, status: r.status });
    return result;
  };
  registerProbes(
    app,
    {
      live: () => combine({ process: true }),
      ready: async () =>
        combine({
          accepting: !closing,
          config: mirror.isReady(),
          mongo: await deps.mongo.ping().then(
            () => true,
            () => false,
          ),
        }),
    },
    metrics,
  );

  // The events limit is checked before the schema is: validation (every problem collected) of a 10 MB body
  // of `{}` items would build millions of error objects first (issue 19). Same answer as checkLimits.
  const eventsWithinLimit = async (request: { body: unknown }) => {
    const events = (request.body as { events?: unknown } | undefined)?.events;
    if (Array.isArray(events) && events.length > config.MAX_EVENTS_PER_REQUEST) {
      throw tooManyEvents(events.length, config.MAX_EVENTS_PER_REQUEST);
    }
  };
  const manage = { onRequest: requireGrant(GRANTS.manage), preValidation: eventsWithinLimit };
  const traceparent = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h);

  app.post(
    '/v2/erp/updates/events',
    { ...manage, schema: { body: ErpUpdatesEventsV2Request } },
    (request) => {
      const body = request.body;
      return counted(
        'v2',
        ingest(
          {
            orgId: request.principal.orgId,
            target: { integrationId: body.integration_id },
            correlationId: body.correlation_id || body.meta?.correlation_id || undefined,
            traceparent: traceparent(request.headers.traceparent),
            events: body.events.map(fromErpEvent),
          },
          ingestDeps,
        ),
      );
    },
  );

  app.post(
    '/v1/erp/updates/events',
    { ...manage, schema: { body: ErpUpdatesEventsV1Request } },
    (request) => {
      const body = request.body;
      return counted(
        'v1',
        ingest(
          {
            orgId: request.principal.orgId,
            target: { appId: body.app_id, componentId: body.component_id },
            correlationId: body.meta.correlation_id || undefined,
            traceparent: traceparent(request.headers.traceparent),
            events: body.events.map(fromErpEvent),
          },
          ingestDeps,
        ),
      );
    },
  );

  app.post(
    '/v3/erp/updates/events',
    { ...manage, schema: { body: ErpUpdatesEventsV3Request } },
    (request) => {
      const body = request.body;
      body.events.forEach((e, i) => {
        if (!e.event_name && !e.use_case_slug) {
          throw badRequest(`body.events[${i}]: needs event_name or use_case_slug`);
        }
      });
      return counted(
        'v3',
        ingest(
          {
            orgId: request.principal.orgId,
            target: { integrationId: body.integration_id },
            correlationId: body.correlation_id || body.meta?.correlation_id || undefined,
            traceparent: traceparent(request.headers.traceparent),
            events: body.events.map((e) => ({
              eventName: e.event_name,
              useCaseSlug: e.use_case_slug,
              eventType: e.event_type,
              timestamp: e.timestamp,
              format: e.format,
              payload: e.payload,
              deduplicationId: e.deduplication_id,
              correlationId: e.correlation_id,
              groupId: e.group_id ?? body.group_id,
            })),
          },
          ingestDeps,
        ),
      );
    },
  );

  app.addHook('onClose', async () => {
    closing = true;
  });

  return {
    app,
    /** Starts reading the config topic; resolves once caught up. */
    start: () => mirror.start(),
    stopMirror: () => mirror.stop(),
  };
}

/** The collections whose layout the gateway prepares at start-up (libs/mongo plan.ts, `DB_LAYOUT`). */
export const COLLECTIONS_OWNED = [
  'dedupe',
  'dedupe_accepted',
  'inbound_requests',
  'inbound_events',
  ...RATE_LIMIT_COLLECTIONS,
];

/**
 * The collections whose documents expire at their stored date, kept clean by the gateway: TTL indexes on
 * MongoDB, a sweeper on FerretDB (libs/mongo retention.ts).
 */
export const COLLECTIONS_EXPIRED = [
  'dedupe',
  'dedupe_accepted',
  'inbound_requests',
  // Written before ADR 18; swept until empty.
  'inbound_events',
  ...RATE_LIMIT_COLLECTIONS,
];

export const TOPICS_OWNED = (partitions: number) => [
  { topic: Topics.inboundEvents, partitions },
  { topic: Topics.configChanges, partitions: 1, compacted: true },
  { topic: Topics.monitoringEvents, partitions },
];

/** A v1/v2 `ErpEvent`, normalised (the event name is its `object_type`). */
function fromErpEvent(e: Static<typeof ErpEventV2>): IncomingEvent {
  return {
    eventName: e.object_type,
    eventType: e.event_type,
    timestamp: e.timestamp,
    format: e.format,
    payload: e.payload,
    deduplicationId: e.deduplication_id,
    correlationId: e.correlation_id,
  };
}
