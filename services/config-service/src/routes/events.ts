import { randomUUID } from 'node:crypto';
import {
  Headers,
  type InboundEventMessage,
  type MonitoringRecord,
  monitoringMessage,
  monitoringRecord,
  routeEvent,
  Topics,
} from '@hub/contracts';
import { type EventStore, requestEventIds, type StoredEvent } from '@hub/event-store';
import { GRANTS, type HttpServer, notFound, requireGrant } from '@hub/http';
import type { MessageProducer } from '@hub/kafka';
import { PayloadError, parsePayload } from '@hub/mapping';
import { childTrace, formatTraceparent } from '@hub/observability';
import Type from 'typebox';
import { IntegrationParams } from '../api.js';
import type { IntegrationsRepository } from '../repository.js';

const QueryEventsBody = Type.Object({
  event_id: Type.Optional(Type.String()),
  event_type: Type.Optional(
    Type.Union([Type.Literal('CREATE'), Type.Literal('UPDATE'), Type.Literal('DELETE')]),
  ),
  correlation_id: Type.Optional(Type.String()),
  object_type: Type.Optional(Type.String()),
  event_name: Type.Optional(Type.String()),
  use_case_id: Type.Optional(Type.String({ minLength: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 25, default: 25 })),
  cursor: Type.Optional(
    Type.Object({
      event_time: Type.String({ format: 'date-time' }),
      event_id: Type.String({ minLength: 1 }),
    }),
  ),
});

const ReplayEventsBody = Type.Object({
  event_ids: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 100 }),
});

/** A stored event in the reference's `ErpEvent` shape, plus its id, time and outcome. */
export function eventView(e: StoredEvent): Record<string, unknown> {
  return {
    event_id: e.event_id,
    event_time: e.event_time,
    // v3 events may carry neither: the reference's ErpEvent requires both (docs/api-differences.md).
    event_type: e.event_type ?? 'UPDATE',
    object_type: e.object_type ?? e.use_case_slug ?? '',
    timestamp: e.timestamp,
    format: e.format,
    payload: e.payload,
    ...(e.deduplication_id ? { deduplication_id: e.deduplication_id } : {}),
    correlation_id: e.correlation_id,
    use_case_id: e.use_case_id,
    status: e.status,
    ...(e.message ? { message: e.message } : {}),
    ...(e.replay_of ? { replay_of: e.replay_of } : {}),
  };
}

export interface EventRoutesDeps {
  repository: IntegrationsRepository;
  events: EventStore;
  producer: MessageProducer;
}

export function registerEventRoutes(app: HttpServer, deps: EventRoutesDeps): void {
  const { repository, events, producer } = deps;

  const requireIntegration = async (orgId: string, integrationId: string) => {
    const integration = await repository.getIntegration(orgId, integrationId);
    if (!integration) throw notFound(`integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');
    return integration;
  };

  app.post(
    '/v1/integrations/:integrationId/events',
    { onRequest: requireGrant(GRANTS.view), schema: { params: IntegrationParams, body: QueryEventsBody } },
    async (request) => {
      const { orgId } = request.principal;
      const { integrationId } = request.params;
      await requireIntegration(orgId, integrationId);
      const q = request.body;
      const limit = q.limit ?? 25;
      const found = await events.query(orgId, integrationId, {
        event_id: q.event_id,
        event_type: q.event_type,
        correlation_id: q.correlation_id,
        object_type: q.object_type ?? q.event_name,
        use_case_id: q.use_case_id,
        limit,
        after: q.cursor,
      });
      const page = found.slice(0, limit);
      const last = page[page.length - 1];
      const hasMore = found.length > limit;
      return {
        data: page.map(eventView),
        next_cursor: hasMore && last ? { event_time: last.event_time, event_id: last.event_id } : null,
        has_more: hasMore,
      };
    },
  );

  // Replays stored events with the configuration as it is now: a new event id and correlation id each.
  app.post(
    '/v1/integrations/:integrationId/events/replay',
    {
      onRequest: requireGrant(GRANTS.manage),
      schema: { params: IntegrationParams, body: ReplayEventsBody },
    },
    async (request) => {
      const { orgId } = request.principal;
      const { integrationId } = request.params;
      const integration = await requireIntegration(orgId, integrationId);
      const useCases = await repository.listUseCases(orgId, integrationId);
      const ids = request.body.event_ids;
      const found = await events.getMany(orgId, integrationId, ids);
      const now = new Date().toISOString();
      // The replays' ids are numbered under one id: their document in the event store (ADR 18).
      const replayIds = requestEventIds();
      const replayRequest = replayIds.requestId;
      const results: Array<{ event_id: string; status: string; replay_event_id?: string; message: string }> =
        [];
      const replays: StoredEvent[] = [];
      const messages: Array<{
        topic: string;
        key: string;
        value: InboundEventMessage;
        headers: Record<string, string>;
      }> = [];
      const records: MonitoringRecord[] = [];

      for (const id of ids) {
        const source = found.get(id);
        if (!source) {
          results.push({
            event_id: id,
            status: 'not_found',
            message: `no stored event ${id} in this integration`,
          });
          continue;
        }
        try {
          parsePayload(source.format, source.payload);
        } catch (err) {
          if (!(err instanceof PayloadError)) throw err;
          results.push({ event_id: id, status: 'error', message: `payload: ${err.message}` });
          continue;
        }
        const route = routeEvent(useCases, {
          useCaseSlug: source.use_case_slug,
          eventName: source.object_type,
        });
        if (!route) {
          results.push({
            event_id: id,
            status: 'ignored',
            message: 'no enabled inbound use case matches it now',
          });
          continue;
        }
        const replayId = replayIds.next();
        const correlationId = randomUUID();
        replays.push({
          ...source,
          event_id: replayId,
          event_time: now,
          correlation_id: correlationId,
          use_case_id: route.useCase.id,
          status: 'success',
          message: `replay of ${id}`,
          replay_of: id,
        });
        messages.push({
          topic: Topics.inboundEvents,
          key: source.group_id ? `${integrationId}:${source.group_id}` : integrationId,
          value: {
            schema_version: 1,
            event_id: replayId,
            org_id: orgId,
            integration_id: integrationId,
            use_case_id: route.useCase.id,
            config_revision: integration.revision,
            routed_by: route.routedBy,
            correlation_id: correlationId,
            ...(source.event_type ? { event_type: source.event_type } : {}),
            event_name: source.object_type ?? source.use_case_slug ?? route.useCase.slug,
            timestamp: source.timestamp,
            format: source.format,
            payload: source.payload,
            ...(source.group_id ? { group_id: source.group_id } : {}),
            accepted_at: now,
          },
          headers: {
            [Headers.correlationId]: correlationId,
            [Headers.traceparent]: formatTraceparent(childTrace(undefined)),
            [Headers.eventId]: replayId,
            [Headers.orgId]: orgId,
            [Headers.schemaVersion]: '1',
          },
        });
        // On the original: it was replayed as the new event; on the new event: accepted, as at the gateway.
        records.push(
          monitoringRecord({
            org_id: orgId,
            integration_id: integrationId,
            event_id: id,
            correlation_id: source.correlation_id,
            use_case_id: source.use_case_id ?? '',
            stage: 'replayed',
            subject: replayId,
            level: 'success',
            code: 'EVENT_REPLAYED',
            message: `replayed as ${replayId}`,
            final: false,
            detail: { replay_event_id: replayId, replay_correlation_id: correlationId },
            ...(source.event_type ? { event_type: source.event_type } : {}),
            object_type: source.object_type ?? source.use_case_slug,
            created_at: now,
          }),
          monitoringRecord({
            org_id: orgId,
            integration_id: integrationId,
            event_id: replayId,
            correlation_id: correlationId,
            use_case_id: route.useCase.id,
            stage: 'accepted',
            level: 'success',
            message: `replay of ${id}`,
            final: false,
            detail: { replay_of: id, routed_by: route.routedBy, use_case_slug: route.useCase.slug },
            ...(source.event_type ? { event_type: source.event_type } : {}),
            object_type: source.object_type ?? source.use_case_slug,
            received_at: now,
            created_at: now,
          }),
        );
        results.push({
          event_id: id,
          status: 'success',
          replay_event_id: replayId,
          message: 'Event queued for replay',
        });
      }

      try {
        await events.insert(replays, { requestId: replayRequest });
        await producer.send([...messages, ...records.map((r) => monitoringMessage(r))]);
      } catch (err) {
        request.log.error({ err }, 'replay could not be queued');
        await events.remove(replayRequest).catch(() => undefined);
        for (const r of results) {
          if (r.status === 'success') {
            r.status = 'error';
            r.message = 'could not be queued; retry';
            delete r.replay_event_id;
          }
        }
      }
      return { replayed: results.filter((r) => r.status === 'success').length, results, event_ids: ids };
    },
  );
}
