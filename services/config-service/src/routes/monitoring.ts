import { canonicalJson, type MonitoringRecord, monitoringMessage, monitoringRecord } from '@hub/contracts';
import type { EventStore } from '@hub/event-store';
import { badRequest, FairQueue, GRANTS, type HttpServer, notFound, requireGrant } from '@hub/http';
import type { MessageProducer } from '@hub/kafka';
import Type from 'typebox';
import { IntegrationParams } from '../api.js';
import {
  bucketStarts,
  chronological,
  INCOMING_STAGES,
  type Interval,
  rollUp,
  type StatsGroup,
  spanStatus,
  statsV1Inbound,
  statsV2,
  timeSeries,
  type V1Group,
} from '../monitoring/aggregate.js';
import type { MonitoringRepository, RecordFilter } from '../monitoring/repository.js';
import type { IntegrationsRepository } from '../repository.js';
import { eventView } from './events.js';

const DateTime = Type.String({ format: 'date-time' });
const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50 });
const Level = Type.Union(['success', 'error', 'skipped', 'warning'].map((l) => Type.Literal(l)));
const UseCaseType = Type.Union(
  ['inbound', 'outbound', 'file_proxy', 'managed_call', 'secure_proxy'].map((t) => Type.Literal(t)),
);
const IntervalSchema = Type.Union(['5m', '10m', '30m', '1h', '3h', '1d'].map((i) => Type.Literal(i)));

/** Request bodies: the reference's schemas (unknown properties tolerated, decision 3). */
const QueryInboundBody = Type.Object({
  use_case_id: Type.Optional(Type.String({ format: 'uuid' })),
  event_type: Type.Optional(
    Type.Union(['CREATE', 'UPDATE', 'DELETE', 'TRIGGER'].map((t) => Type.Literal(t))),
  ),
  sync_type: Type.Optional(
    Type.Union(['entity', 'meter_reading', 'webhook', 'api_deprecation'].map((t) => Type.Literal(t))),
  ),
  status: Type.Optional(Level),
  error_category: Type.Optional(
    Type.Union(
      ['validation', 'configuration', 'downstream_api', 'timeout', 'system'].map((c) => Type.Literal(c)),
    ),
  ),
  correlation_id: Type.Optional(Type.String()),
  object_type: Type.Optional(Type.String()),
  event_name: Type.Optional(Type.String()),
  event_id: Type.Optional(Type.String()),
  from_date: Type.Optional(DateTime),
  to_date: Type.Optional(DateTime),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(
    Type.Object({
      completed_at: DateTime,
      event_id: Type.String(),
      /** Ours: the record id, the tie-breaker within one event (docs/api-differences.md). */
      id: Type.Optional(Type.String()),
    }),
  ),
});

const StatsV1Body = Type.Object({
  from_date: Type.Optional(DateTime),
  to_date: Type.Optional(DateTime),
  inbound_group_by: Type.Optional(
    Type.Array(
      Type.Union(
        ['use_case_id', 'sync_type', 'status', 'error_category', 'object_type', 'event_name', 'date'].map(
          (g) => Type.Literal(g),
        ),
      ),
    ),
  ),
  outbound_group_by: Type.Optional(
    Type.Array(Type.Union(['event_name', 'status', 'webhook_config_id', 'date'].map((g) => Type.Literal(g)))),
  ),
});

const TimeSeriesV1Body = Type.Object({
  from_date: DateTime,
  to_date: Type.Optional(DateTime),
  interval: IntervalSchema,
  direction: Type.Optional(Type.Union(['inbound', 'outbound', 'both'].map((d) => Type.Literal(d)))),
});

const QueryEventsV2Body = Type.Object({
  use_case_id: Type.Optional(Type.String()),
  use_case_type: Type.Optional(UseCaseType),
  level: Type.Optional(Level),
  code: Type.Optional(Type.String()),
  event_id: Type.Optional(Type.String()),
  correlation_id: Type.Optional(Type.String()),
  from_date: Type.Optional(DateTime),
  to_date: Type.Optional(DateTime),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Type.Object({ created_at: DateTime, id: Type.String({ format: 'uuid' }) })),
});

const StatsV2Body = Type.Object({
  from_date: Type.Optional(DateTime),
  to_date: Type.Optional(DateTime),
  use_case_type: Type.Optional(UseCaseType),
  use_case_types: Type.Optional(Type.Array(UseCaseType)),
  group_by: Type.Optional(
    Type.Union(['use_case_id', 'use_case_type', 'level', 'code', 'date'].map((g) => Type.Literal(g))),
  ),
  source: Type.Optional(Type.Union([Type.Literal('monitoring'), Type.Literal('incoming')])),
});

const TimeSeriesV2Body = Type.Object({
  from_date: DateTime,
  to_date: Type.Optional(DateTime),
  interval: IntervalSchema,
  use_case_type: Type.Optional(UseCaseType),
  group_by: Type.Optional(Type.Union([Type.Literal('use_case_type'), Type.Literal('use_case')])),
});

/** Spans are checked one by one (the reference keeps the schema loose so one bad span fails alone). */
const ExternalEventsBody = Type.Object({
  events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 100 }),
});

const EventParams = Type.Object({ integrationId: Type.String({ format: 'uuid' }), eventId: Type.String() });
const TraceParams = Type.Object({
  integrationId: Type.String({ format: 'uuid' }),
  correlationId: Type.String({ minLength: 1 }),
});

/** Normalises an ISO date-time to the stored form (UTC, milliseconds), so string ranges compare right. */
const iso = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());

/** `MonitoringEventV2` (plus our record fields: stage, category, durations; docs/monitoring.md). */
export function recordView(r: MonitoringRecord): Record<string, unknown> {
  const { schema_version: _v, ...rest } = r;
  return rest;
}

const V1_EVENT_TYPES = new Set(['CREATE', 'UPDATE', 'DELETE', 'TRIGGER']);

/** `InboundMonitoringEvent`: a final record of an event, in v1 words. */
export function inboundView(r: MonitoringRecord): Record<string, unknown> {
  const failed = r.level !== 'success';
  return {
    id: r.id,
    org_id: r.org_id,
    event_id: r.event_id,
    correlation_id: r.correlation_id || null,
    integration_id: r.integration_id,
    use_case_id: r.use_case_id || null,
    ...(r.event_type && V1_EVENT_TYPES.has(r.event_type) ? { event_type: r.event_type } : {}),
    object_type: r.object_type ?? '',
    sync_type: r.sync_type ?? 'entity',
    status: r.level,
    error_code: r.code || null,
    error_message: failed && r.message ? r.message : null,
    error_category: r.category ?? null,
    processing_duration_ms: r.duration_ms ?? null,
    received_at: r.received_at ?? r.created_at,
    completed_at: r.created_at,
    stage: r.stage,
  };
}

const EXTERNAL_LEVELS = ['success', 'error', 'warning', 'info'] as const;
type ExternalLevel = (typeof EXTERNAL_LEVELS)[number];

export interface MonitoringRoutesDeps {
  repository: IntegrationsRepository;
  monitoring: MonitoringRepository;
  events: EventStore;
  producer: MessageProducer;
  traceMaxSpans: number;
  /** Records one statistics or time-series request may aggregate (bounded memory per request). */
  scanMaxRecords: number;
  /** How statistics and time series wait their turn on this instance (ADR 0015, decision 4). */
  aggregations: AggregationBudget;
}

/** The monitoring aggregations' budgets, per organisation and per instance (README, configuration). */
export interface AggregationBudget {
  /** Running at once per organisation; its others wait in its own queue. */
  runningPerOrg: number;
  /** Waiting per organisation; one more is 429 TOO_MANY_CONCURRENT_REQUESTS. */
  queuedPerOrg: number;
  /** Running at once in all; organisations are served in turn. */
  running: number;
  /** Running time one organisation's aggregations may take per window (ms); past it, the next waits. */
  orgBudgetMs: number;
  windowMs: number;
}

/**
 * The queue every statistics and time-series request of this instance passes: an organisation's
 * aggregations run one after the other (by default), other organisations' are served first, and an
 * organisation owing its budget of running time (paid back at the budget's rate) waits until it owes
 * less. An aggregation
 * scans up to `scanMaxRecords` records in the database, which serves every organisation's ingest and
 * pipeline too: the budget bounds the share one organisation's statistics take of it.
 */
export function aggregationQueue(budget: AggregationBudget): FairQueue {
  return new FairQueue({
    what: 'monitoring aggregations',
    runningPerKey: budget.runningPerOrg,
    runningTotal: budget.running,
    queuedPerKey: budget.queuedPerOrg,
    budget: { ms: budget.orgBudgetMs, windowMs: budget.windowMs },
  });
}

/** The nine monitoring operations of the reference (docs/monitoring.md). */
export function registerMonitoringRoutes(app: HttpServer, deps: MonitoringRoutesDeps): void {
  const { repository, monitoring, events, producer } = deps;
  const view = { onRequest: requireGrant(GRANTS.view) };
  const manage = { onRequest: requireGrant(GRANTS.manage) };

  /** The caller's organisation and the integration of the path, which must be theirs (else 404). */
  const scope = async (request: { principal: { orgId: string }; params: { integrationId: string } }) => {
    const { orgId } = request.principal;
    const { integrationId } = request.params;
    const integration = await repository.getIntegration(orgId, integrationId);
    if (!integration) throw notFound(`integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');
    return { orgId, integrationId };
  };
  /** A page of `limit` from `found` (which holds up to `limit + 1`), with the cursor of its last item. */
  const paged = <C>(
    found: MonitoringRecord[],
    limit: number,
    view: (r: MonitoringRecord) => Record<string, unknown>,
    cursorOf: (last: MonitoringRecord) => C,
  ) => {
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    const hasMore = found.length > limit;
    return { data: page.map(view), next_cursor: hasMore && last ? cursorOf(last) : null, has_more: hasMore };
  };
  const range = (from?: string, to?: string) => {
    if (from && to && Date.parse(to) < Date.parse(from)) {
      throw badRequest(`to_date ${to} is before from_date ${from}`, 'INVALID_DATE_RANGE');
    }
    return { from: iso(from), to: iso(to) };
  };
  // Each aggregation may hold scanMaxRecords records and scan the database: one organisation's run in
  // turn within a budget of time, so its heavy requests cannot take every other organisation's memory
  // and database time (issue 19).
  const aggregations = aggregationQueue(deps.aggregations);
  app.addHook('onClose', async () => aggregations.close());
  const collect = (orgId: string, integrationId: string, f: RecordFilter) =>
    aggregations.run(orgId, async () => {
      const out: MonitoringRecord[] = [];
      for await (const r of monitoring.scan(orgId, integrationId, f, deps.scanMaxRecords)) out.push(r);
      return out;
    });

  // v1: the final records (one per outcome of an event or of one of its updates).
  app.post(
    '/v1/integrations/:integrationId/monitoring/inbound-events',
    { ...view, schema: { params: IntegrationParams, body: QueryInboundBody } },
    async (request) => {
      const { orgId, integrationId } = await scope(request);
      const q = request.body;
      const limit = q.limit ?? 50;
      if (q.sync_type === 'webhook' || q.sync_type === 'api_deprecation') {
        return { data: [], next_cursor: null, has_more: false };
      }
      const found = await monitoring.page(
        orgId,
        integrationId,
        {
          ...range(q.from_date, q.to_date),
          final: true,
          use_case_id: q.use_case_id,
          event_type: q.event_type,
          sync_type: q.sync_type,
          level: q.status,
          category: q.error_category,
          correlation_id: q.correlation_id,
          object_type: q.object_type ?? q.event_name,
          event_id: q.event_id,
        },
        limit,
        'v1',
        q.cursor
          ? { created_at: iso(q.cursor.completed_at)!, event_id: q.cursor.event_id, id: q.cursor.id ?? '' }
          : undefined,
      );
      return paged(found, limit, inboundView, (last) => ({
        completed_at: last.created_at,
        event_id: last.event_id,
        id: last.id,
      }));
    },
  );

  app.post(
    '/v1/integrations/:integrationId/monitoring/stats',
    { ...view, schema: { params: IntegrationParams, body: StatsV1Body } },
    async (request) => {
      const { orgId, integrationId } = await scope(request);
      const q = request.body;
      const all = await collect(orgId, integrationId, { ...range(q.from_date, q.to_date), final: true });
      return {
        inbound: statsV1Inbound(all, (q.inbound_group_by ?? []) as V1Group[]),
        // No outbound use cases run yet: zero counts.
        outbound: {
          total_events: 0,
          success_count: 0,
          error_count: 0,
          pending_count: 0,
          success_rate: 0,
          last_error_at: null,
          ...(q.outbound_group_by?.length ? { breakdown: [] } : {}),
        },
      };
    },
  );

  app.post(
    '/v1/integrations/:integrationId/monitoring/timeseries',
    { ...view, schema: { params: IntegrationParams, body: TimeSeriesV1Body } },
    async (request) => {
      const { orgId, integrationId } = await scope(request);
      const q = request.body;
      const interval = q.interval as Interval;
      const from = iso(q.from_date)!;
      const to = iso(q.to_date) ?? new Date().toISOString();
      const starts = bucketStarts(from, to, interval);
      if (typeof starts === 'string') {
        throw badRequest(starts, starts.includes('is before') ? 'INVALID_DATE_RANGE' : 'TOO_MANY_BUCKETS');
      }
      const direction: string = q.direction ?? 'both';
      const inbound =
        direction === 'outbound'
          ? undefined
          : timeSeries(await collect(orgId, integrationId, { from, to, final: true }), starts, interval);
      const outbound = { success_count: 0, error_count: 0, pending_count: 0, total_count: 0 };
      return {
        interval,
        from_date: from,
        to_date: to,
        buckets: starts.map((s, i) => {
          const b = inbound?.[i];
          return {
            timestamp: new Date(s).toISOString(),
            inbound: b
              ? {
                  success_count: b.success_count,
                  error_count: b.error_count,
                  warning_count: b.warning_count,
                  skipped_count: b.skipped_count,
                  total_count: b.total_count,
                }
              : null,
            outbound: direction === 'inbound' ? null : { ...outbound },
          };
        }),
      };
    },
  );

  // v2: every record.
  const useCaseFilter = async (orgId: string, integrationId: string, useCaseId: string | undefined) => {
    if (useCaseId === undefined) return {};
    if (useCaseId === '__unknown__') {
      const known = (await repository.listUseCases(orgId, integrationId)).map((u) => u.id);
      return { use_case_not_in: known };
    }
    return { use_case_id: useCaseId };
  };

  app.post(
    '/v2/integrations/:integrationId/monitoring/events',
    { ...view, schema: { params: IntegrationParams, body: QueryEventsV2Body } },
    async (request) => {
      const { orgId, integrationId } = await scope(request);
      const q = request.body;
      const limit = q.limit ?? 50;
      const found = await monitoring.page(
        orgId,
        integrationId,
        {
          ...range(q.from_date, q.to_date),
          ...(await useCaseFilter(orgId, integrationId, q.use_case_id)),
          use_case_type: q.use_case_type,
          level: q.level,
          code: q.code,
          event_id: q.event_id,
          correlation_id: q.correlation_id,
        },
        limit,
        'v2',
        q.cursor ? { created_at: iso(q.cursor.created_at)!, id: q.cursor.id } : undefined,
      );
      return paged(found, limit, recordView, (last) => ({ created_at: last.created_at, id: last.id }));
    },
  );

  app.post(
    '/v2/integrations/:integrationId/monitoring/stats',
    { ...view, schema: { params: IntegrationParams, body: StatsV2Body } },
    async (request) => {
      const { orgId, integrationId } = await scope(request);
      const q = request.body;
      const types = q.use_case_types ?? (q.use_case_type ? [q.use_case_type] : undefined);
      const filter: RecordFilter = { ...range(q.from_date, q.to_date), use_case_types: types };
      if ((q.source ?? 'monitoring') === 'incoming') {
        if (q.group_by && q.group_by !== 'use_case_id') {
          throw badRequest(
            `group_by: source "incoming" supports only group_by "use_case_id", not "${q.group_by}"`,
            'UNSUPPORTED_GROUP_BY',
          );
        }
        // Events received: distinct event ids recorded by the gateway; no level breakdown (reference).
        const byUseCase = new Map<string, Set<string>>();
        const all = new Set<string>();
        await aggregations.run(orgId, async () => {
          for await (const r of monitoring.scan(
            orgId,
            integrationId,
            { ...filter, stages: INCOMING_STAGES },
            deps.scanMaxRecords,
          )) {
            all.add(r.event_id);
            const set = byUseCase.get(r.use_case_id) ?? new Set<string>();
            set.add(r.event_id);
            byUseCase.set(r.use_case_id, set);
          }
        });
        return {
          total_events: all.size,
          success_count: 0,
          error_count: 0,
          warning_count: 0,
          skipped_count: 0,
          ack_timeout_count: 0,
          success_rate: 0,
          last_error_at: null,
          ...(q.group_by
            ? {
                breakdown: [...byUseCase].map(([useCaseId, ids]) => ({
                  use_case_id: useCaseId,
                  total_events: ids.size,
                })),
              }
            : {}),
        };
      }
      return statsV2(await collect(orgId, integrationId, filter), q.group_by as StatsGroup | undefined);
    },
  );

  app.post(
    '/v2/integrations/:integrationId/monitoring/time-series',
    { ...view, schema: { params: IntegrationParams, body: TimeSeriesV2Body } },
    async (request) => {
      const { orgId, integrationId } = await scope(request);
      const q = request.body;
      const interval = q.interval as Interval;
      const from = iso(q.from_date)!;
      const to = iso(q.to_date) ?? new Date().toISOString();
      const starts = bucketStarts(from, to, interval);
      if (typeof starts === 'string') {
        throw badRequest(starts, starts.includes('is before') ? 'INVALID_DATE_RANGE' : 'TOO_MANY_BUCKETS');
      }
      const known =
        q.group_by === 'use_case'
          ? new Set((await repository.listUseCases(orgId, integrationId)).map((u) => u.id))
          : undefined;
      const records = await collect(orgId, integrationId, { from, to, use_case_type: q.use_case_type });
      return {
        interval,
        from_date: from,
        to_date: to,
        buckets: timeSeries(records, starts, interval, q.group_by, known),
      };
    },
  );

  app.get(
    '/v2/integrations/:integrationId/monitoring/events/:eventId/associated',
    { ...view, schema: { params: EventParams } },
    async (request) => {
      const { orgId, integrationId } = await scope(request);
      const { eventId } = request.params;
      const records = await monitoring.chronological(
        orgId,
        integrationId,
        { event_id: eventId },
        deps.traceMaxSpans,
      );
      const stored = (await events.getMany(orgId, integrationId, [eventId])).get(eventId);
      return {
        monitoring_events: chronological(records.slice(0, deps.traceMaxSpans)).map(recordView),
        inbound_event: stored ? eventView(stored) : null,
      };
    },
  );

  app.get(
    '/v2/integrations/:integrationId/monitoring/traces/:correlationId',
    { ...view, schema: { params: TraceParams } },
    async (request) => {
      const { orgId, integrationId } = await scope(request);
      const { correlationId } = request.params;
      const max = deps.traceMaxSpans;
      const found = await monitoring.chronological(
        orgId,
        integrationId,
        { correlation_id: correlationId },
        max,
      );
      const spans = chronological(found.slice(0, max));
      const eventIds = [...new Set(spans.map((s) => s.event_id).filter((id) => id !== ''))];
      const stored = eventIds.length > 0 ? await events.getMany(orgId, integrationId, eventIds) : new Map();
      const head = eventIds.map((id) => stored.get(id)).find((e) => e !== undefined);
      return {
        correlation_id: correlationId,
        status: rollUp(spans.map(spanStatus)),
        started_at: spans[0]?.created_at ?? null,
        ended_at: spans[spans.length - 1]?.created_at ?? null,
        span_count: spans.length,
        truncated: found.length > max,
        spans: spans.map(recordView),
        inbound_event: head ? eventView(head) : null,
      };
    },
  );

  app.post(
    '/v2/integrations/:integrationId/monitoring/external-events',
    { ...manage, schema: { params: IntegrationParams, body: ExternalEventsBody } },
    async (request, reply) => {
      const { orgId, integrationId } = await scope(request);
      const useCases = await repository.listUseCases(orgId, integrationId);
      const results: Array<{ index: number; status: 'accepted' | 'rejected'; reason?: string }> = [];
      const records: MonitoringRecord[] = [];
      for (const [index, span] of request.body.events.entries()) {
        const checked = checkSpan(span, useCases);
        if (typeof checked === 'string') {
          results.push({ index, status: 'rejected', reason: checked });
          continue;
        }
        const { level, useCase, occurredAt, message, detail, correlationId } = checked;
        records.push(
          monitoringRecord({
            org_id: orgId,
            integration_id: integrationId,
            event_id: '',
            correlation_id: correlationId,
            use_case_id: useCase.id,
            use_case_type: useCase.type as MonitoringRecord['use_case_type'],
            stage: 'external',
            // Same span sent twice (a retried batch): same id, stored once.
            subject: canonicalJson([correlationId, occurredAt, level, useCase.slug, message, detail]),
            level: level === 'info' ? 'success' : level,
            code: `EXTERNAL_${level.toUpperCase()}`,
            message,
            final: false,
            detail: { ...detail, use_case_slug: useCase.slug, external_level: level },
            created_at: occurredAt,
          }),
        );
        results.push({ index, status: 'accepted' });
      }
      await producer.send(records.map((r) => monitoringMessage(r)));
      reply.code(202);
      return {
        accepted: records.length,
        rejected: results.length - records.length,
        results,
      };
    },
  );
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/** One external span checked (the reference's per-span rules), or why it is rejected. */
export function checkSpan(
  span: unknown,
  useCases: Array<{ id: string; slug: string; type: string }>,
):
  | string
  | {
      level: ExternalLevel;
      useCase: { id: string; slug: string; type: string };
      occurredAt: string;
      message: string;
      detail: Record<string, unknown>;
      correlationId: string;
    } {
  if (!isObject(span)) return 'a span must be an object';
  const { correlation_id, level, use_case_slug, occurred_at, message, detail } = span;
  if (typeof correlation_id !== 'string' || correlation_id === '')
    return 'correlation_id: required (a non-empty string)';
  if (typeof level !== 'string' || !EXTERNAL_LEVELS.includes(level as ExternalLevel))
    return `level: must be one of ${EXTERNAL_LEVELS.join(', ')}`;
  if (typeof use_case_slug !== 'string' || use_case_slug === '')
    return 'use_case_slug: required (a non-empty string)';
  const useCase = useCases.find((u) => u.slug === use_case_slug);
  if (!useCase) return `use_case_slug: "${use_case_slug}" is not a use case of this integration`;
  if (
    typeof occurred_at !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(occurred_at) ||
    Number.isNaN(Date.parse(occurred_at))
  )
    return 'occurred_at: required (an ISO 8601 date-time)';
  if (typeof message !== 'string') return 'message: required (a string)';
  if (detail !== undefined && detail !== null && !isObject(detail))
    return 'detail: must be an object or null';
  return {
    level: level as ExternalLevel,
    useCase,
    occurredAt: new Date(occurred_at).toISOString(),
    message,
    detail: isObject(detail) ? detail : {},
    correlationId: correlation_id,
  };
}
