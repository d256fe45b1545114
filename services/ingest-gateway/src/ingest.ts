import {
  type ConfigView,
  Headers,
  type InboundEventMessage,
  type MonitoringRecord,
  monitoringMessage,
  monitoringRecord,
  newEventId,
  routeEvent,
  Topics,
} from '@hub/contracts';
import type { EventStore, StoredEvent } from '@hub/event-store';
import { ApiError, badRequest, notFound, unavailable } from '@hub/http';
import type { MessageProducer, OutgoingMessage, TopicMirror } from '@hub/kafka';
import { PayloadError, parsePayload } from '@hub/mapping';
import {
  childTrace,
  formatTraceparent,
  type Logger,
  newCorrelationId,
  parseTraceparent,
} from '@hub/observability';
import type { Claim, DedupeStore } from './dedupe.js';

/** One event of any API version, normalised. */
export interface IncomingEvent {
  eventName?: string;
  useCaseSlug?: string;
  eventType?: string;
  timestamp: string;
  format: 'json' | 'xml';
  payload: unknown;
  deduplicationId?: string;
  correlationId?: string;
  groupId?: string;
}

export interface IngestRequest {
  orgId: string;
  /** The integration (v2, v3) or the app component mapped to one (v1, `setIntegrationAppMapping`). */
  target: { integrationId: string } | { appId: string; componentId: string };
  /** Request-level correlation id (`correlation_id`, else `meta.correlation_id`). */
  correlationId?: string;
  traceparent?: string;
  events: IncomingEvent[];
}

export interface EventResult {
  event_id: string;
  status: 'success' | 'error' | 'skipped' | 'ignored';
  message: string;
}

export interface IngestLimits {
  maxEvents: number;
  maxPayloadBytes: number;
  catchUpTimeoutMs: number;
}

export interface IngestDeps {
  config: ConfigView;
  mirror: TopicMirror;
  dedupe: DedupeStore;
  events: EventStore;
  producer: MessageProducer;
  limits: IngestLimits;
  logger: Logger;
}

interface Accepted {
  index: number;
  message: OutgoingMessage;
  claim?: Claim;
}

/**
 * Validates, routes, deduplicates and hands events over to Kafka. An event is answered `success` only
 * once the broker has acknowledged it (acks=all); if the hand-over fails, no event of the request is
 * reported `success`, their deduplication claims are released, and the whole request gets 503.
 */
export async function ingest(request: IngestRequest, deps: IngestDeps): Promise<{ results: EventResult[] }> {
  const { limits } = deps;
  if (request.events.length > limits.maxEvents) {
    throw badRequest(
      `events: ${request.events.length} events exceed the limit of ${limits.maxEvents} events per request`,
      'LIMIT_EXCEEDED',
    );
  }
  request.events.forEach((event, index) => {
    const size =
      typeof event.payload === 'string'
        ? Buffer.byteLength(event.payload)
        : Buffer.byteLength(JSON.stringify(event.payload));
    if (size > limits.maxPayloadBytes) {
      throw badRequest(
        `events[${index}].payload: ${size} bytes exceed the limit of ${limits.maxPayloadBytes} bytes per payload`,
        'LIMIT_EXCEEDED',
      );
    }
  });

  // Every configuration change answered before this request must apply to it.
  try {
    await deps.mirror.catchUp(limits.catchUpTimeoutMs);
  } catch (err) {
    throw unavailable(`configuration is not available yet: ${(err as Error).message}`, 'CONFIG_UNAVAILABLE');
  }
  let integrationId: string;
  if ('integrationId' in request.target) {
    integrationId = request.target.integrationId;
  } else {
    const { appId, componentId } = request.target;
    const mapped = deps.config.integrationForApp(request.orgId, appId, componentId);
    if (!mapped) {
      throw notFound(
        `app_id/component_id: no integration is mapped to app ${appId} component ${componentId}`,
        'APP_MAPPING_NOT_FOUND',
      );
    }
    integrationId = mapped;
  }
  const snapshot = deps.config.integration(request.orgId, integrationId);
  if (!snapshot)
    throw notFound(`integration_id: integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');

  const parent = parseTraceparent(request.traceparent);
  const acceptedAt = new Date().toISOString();
  const results: EventResult[] = new Array(request.events.length);
  const accepted: Accepted[] = [];
  const seenInRequest = new Set<string>();
  const stored: StoredEvent[] = [];
  const store = (
    index: number,
    eventId: string,
    correlationId: string,
    status: StoredEvent['status'],
    message: string,
    useCaseId: string | null,
  ) => {
    const event = request.events[index]!;
    stored.push({
      event_id: eventId,
      org_id: request.orgId,
      integration_id: integrationId,
      event_time: acceptedAt,
      ...(event.eventType ? { event_type: event.eventType } : {}),
      ...(event.eventName ? { object_type: event.eventName } : {}),
      ...(event.useCaseSlug ? { use_case_slug: event.useCaseSlug } : {}),
      timestamp: event.timestamp,
      format: event.format,
      payload: typeof event.payload === 'string' ? event.payload : JSON.stringify(event.payload),
      ...(event.deduplicationId ? { deduplication_id: event.deduplicationId } : {}),
      correlation_id: correlationId,
      ...(event.groupId ? { group_id: event.groupId } : {}),
      use_case_id: useCaseId,
      status,
      message,
    });
  };

  const records: MonitoringRecord[] = [];
  const record = (
    index: number,
    eventId: string,
    correlationId: string,
    outcome: Pick<MonitoringRecord, 'stage' | 'level' | 'code' | 'message' | 'final'> & {
      useCaseId?: string;
      category?: MonitoringRecord['category'];
      detail?: Record<string, unknown>;
    },
  ) => {
    const event = request.events[index]!;
    records.push(
      monitoringRecord({
        org_id: request.orgId,
        integration_id: integrationId,
        event_id: eventId,
        correlation_id: correlationId,
        use_case_id: outcome.useCaseId,
        stage: outcome.stage,
        level: outcome.level,
        code: outcome.code,
        message: outcome.message,
        final: outcome.final,
        category: outcome.category,
        detail: {
          index,
          ...(event.deduplicationId ? { deduplication_id: event.deduplicationId } : {}),
          ...(event.useCaseSlug ? { use_case_slug: event.useCaseSlug } : {}),
          ...outcome.detail,
        },
        ...(event.eventType ? { event_type: event.eventType } : {}),
        object_type: event.eventName ?? event.useCaseSlug,
        received_at: acceptedAt,
        created_at: acceptedAt,
      }),
    );
  };

  for (const [index, event] of request.events.entries()) {
    let eventId = newEventId();
    // Decision 2; an empty string counts as absent.
    const correlationId = event.correlationId || request.correlationId || newCorrelationId();
    const log = deps.logger.child({ eventId, correlationId, index });

    try {
      parsePayload(event.format, event.payload);
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      results[index] = {
        event_id: eventId,
        status: 'error',
        message: `events[${index}].payload: ${err.message}`,
      };
      store(index, eventId, correlationId, 'error', results[index]!.message, null);
      record(index, eventId, correlationId, {
        stage: 'rejected',
        level: 'error',
        code: 'PAYLOAD_INVALID',
        category: 'validation',
        message: results[index]!.message,
        final: true,
        detail: { format: event.format },
      });
      continue;
    }

    const route = routeEvent(snapshot.useCases, {
      useCaseSlug: event.useCaseSlug,
      eventName: event.eventName,
    });
    if (!route) {
      const what = event.useCaseSlug ? `use_case_slug "${event.useCaseSlug}"` : `event "${event.eventName}"`;
      results[index] = {
        event_id: eventId,
        status: 'ignored',
        message: `no enabled inbound use case for ${what}`,
      };
      store(index, eventId, correlationId, 'ignored', results[index]!.message, null);
      record(index, eventId, correlationId, {
        stage: 'ignored',
        level: 'warning',
        code: 'NO_MATCHING_USE_CASE',
        message: results[index]!.message,
        final: true,
      });
      continue;
    }

    let claim: Claim | undefined;
    if (event.deduplicationId) {
      if (seenInRequest.has(event.deduplicationId)) {
        results[index] = {
          event_id: eventId,
          status: 'skipped',
          message: 'duplicate deduplication_id in this request',
        };
        record(index, eventId, correlationId, {
          stage: 'skipped',
          level: 'skipped',
          code: 'DUPLICATE_EVENT',
          message: results[index]!.message,
          final: true,
          useCaseId: route.useCase.id,
          detail: { duplicate_of: 'this request' },
        });
        continue;
      }
      seenInRequest.add(event.deduplicationId);
      const outcome = await deps.dedupe.claim(request.orgId, integrationId, event.deduplicationId, eventId);
      if (outcome.kind === 'duplicate') {
        results[index] = {
          event_id: eventId,
          status: 'skipped',
          message: `duplicate deduplication_id "${event.deduplicationId}" within the deduplication window`,
        };
        record(index, eventId, correlationId, {
          stage: 'skipped',
          level: 'skipped',
          code: 'DUPLICATE_EVENT',
          message: results[index]!.message,
          final: true,
          useCaseId: route.useCase.id,
        });
        continue;
      }
      if (outcome.kind === 'busy') {
        results[index] = {
          event_id: eventId,
          status: 'error',
          message: `a concurrent request with deduplication_id "${event.deduplicationId}" is still in progress; retry`,
        };
        record(index, eventId, correlationId, {
          stage: 'rejected',
          level: 'error',
          code: 'DEDUPLICATION_BUSY',
          category: 'system',
          message: results[index]!.message,
          final: true,
          useCaseId: route.useCase.id,
        });
        continue;
      }
      claim = outcome.claim;
      if (outcome.eventId) eventId = outcome.eventId;
    }

    const groupId = event.groupId;
    const message: InboundEventMessage = {
      schema_version: 1,
      event_id: eventId,
      org_id: request.orgId,
      integration_id: integrationId,
      use_case_id: route.useCase.id,
      config_revision: snapshot.integration.revision,
      routed_by: route.routedBy,
      correlation_id: correlationId,
      ...(event.eventType ? { event_type: event.eventType } : {}),
      event_name: event.eventName ?? event.useCaseSlug ?? route.useCase.slug,
      timestamp: event.timestamp,
      format: event.format,
      payload: typeof event.payload === 'string' ? event.payload : JSON.stringify(event.payload),
      ...(event.deduplicationId ? { deduplication_id: event.deduplicationId } : {}),
      ...(groupId ? { group_id: groupId } : {}),
      accepted_at: acceptedAt,
    };
    accepted.push({
      index,
      claim,
      message: {
        topic: Topics.inboundEvents,
        key: groupId ? `${integrationId}:${groupId}` : integrationId,
        value: message,
        headers: {
          [Headers.correlationId]: correlationId,
          [Headers.traceparent]: formatTraceparent(childTrace(parent)),
          [Headers.eventId]: eventId,
          [Headers.orgId]: request.orgId,
          [Headers.schemaVersion]: '1',
        },
      },
    });
    results[index] = { event_id: eventId, status: 'success', message: 'Event queued for processing' };
    store(index, eventId, correlationId, 'success', results[index]!.message, route.useCase.id);
    record(index, eventId, correlationId, {
      stage: 'accepted',
      level: 'success',
      code: '',
      message: results[index]!.message,
      final: false,
      useCaseId: route.useCase.id,
      detail: { routed_by: route.routedBy, use_case_slug: route.useCase.slug },
    });
    log.debug({ useCaseId: route.useCase.id, routedBy: route.routedBy }, 'event routed');
  }

  const releaseClaims = () =>
    Promise.allSettled(accepted.flatMap((a) => (a.claim ? [deps.dedupe.release(a.claim)] : [])));
  // Stored first, so every event answered `success` can be queried and replayed.
  try {
    await deps.events.insert(stored);
  } catch (err) {
    deps.logger.error({ err, events: stored.length }, 'could not store events');
    await releaseClaims();
    throw new ApiError(
      503,
      'STORE_UNAVAILABLE',
      'events could not be stored; nothing was accepted, retry the request',
      {
        'retry-after': '5',
      },
    );
  }
  try {
    // The monitoring records travel in the same batch: a record exists for every answered event.
    const traceHeaders = { [Headers.traceparent]: formatTraceparent(childTrace(parent)) };
    await deps.producer.send([
      ...accepted.map((a) => a.message),
      ...records.map((r) => monitoringMessage(r, traceHeaders)),
    ]);
  } catch (err) {
    deps.logger.error({ err, events: accepted.length }, 'could not hand events over to Kafka');
    await Promise.allSettled([releaseClaims(), deps.events.remove(stored.map((e) => e.event_id))]);
    throw new ApiError(
      503,
      'BROKER_UNAVAILABLE',
      'events could not be queued; nothing was accepted, retry the request',
      {
        'retry-after': '5',
      },
    );
  }
  await Promise.all(
    accepted.map(async (a) => {
      if (!a.claim) return;
      try {
        await deps.dedupe.accept(a.claim, results[a.index]!.event_id);
      } catch (err) {
        // The event is queued; only its duplicate protection is weaker. A retry may be accepted twice.
        deps.logger.warn(
          { err, eventId: results[a.index]!.event_id },
          'could not mark deduplication id accepted',
        );
      }
    }),
  );
  return { results };
}
