import {
  type ConfigView,
  Headers,
  type InboundEventMessage,
  type MonitoringRecord,
  monitoringMessage,
  monitoringRecord,
  routeEvent,
  Topics,
} from '@hub/contracts';
import { type EventStore, requestEventIds, type StoredEvent } from '@hub/event-store';
import { ApiError, badRequest, notFound, unavailable } from '@hub/http';
import type { MessageProducer, OutgoingMessage, TopicMirror } from '@hub/kafka';
import { MAX_PAYLOAD_DEPTH, PayloadError, parsePayload, treeDepth } from '@hub/mapping';
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

/** An event that passed its own checks and was routed: it is accepted unless its deduplication id says no. */
interface Routed {
  index: number;
  eventId: string;
  correlationId: string;
  route: NonNullable<ReturnType<typeof routeEvent>>;
  claim?: Claim;
  /** The event id of a dead request's claim this one took over: it may be stored already. */
  reused?: boolean;
}

/** What the request collects while its events are judged: answers, stored events, monitoring records. */
class Answers {
  readonly results: EventResult[];
  readonly stored: StoredEvent[] = [];
  readonly records: MonitoringRecord[] = [];
  readonly acceptedAt = new Date().toISOString();
  /** The request's event ids, numbered under its id (ADR 18: its document in the event store). */
  private readonly ids = requestEventIds();
  /** The request's id: the owner of its claims, and its document in the event store. */
  readonly requestId = this.ids.requestId;
  readonly nextEventId = () => this.ids.next();

  constructor(
    private readonly request: IngestRequest,
    private readonly integrationId: string,
  ) {
    this.results = new Array(request.events.length);
  }

  answer(index: number, eventId: string, status: EventResult['status'], message: string): void {
    this.results[index] = { event_id: eventId, status, message };
  }

  store(index: number, eventId: string, correlationId: string, useCaseId: string | null): void {
    const event = this.request.events[index]!;
    const { status, message } = this.results[index]!;
    this.stored.push({
      event_id: eventId,
      org_id: this.request.orgId,
      integration_id: this.integrationId,
      event_time: this.acceptedAt,
      ...(event.eventType ? { event_type: event.eventType } : {}),
      ...(event.eventName ? { object_type: event.eventName } : {}),
      ...(event.useCaseSlug ? { use_case_slug: event.useCaseSlug } : {}),
      timestamp: event.timestamp,
      format: event.format,
      payload: payloadText(event),
      ...(event.deduplicationId ? { deduplication_id: event.deduplicationId } : {}),
      correlation_id: correlationId,
      ...(event.groupId ? { group_id: event.groupId } : {}),
      use_case_id: useCaseId,
      status: status as StoredEvent['status'],
      message,
    });
  }

  record(
    index: number,
    eventId: string,
    correlationId: string,
    outcome: Pick<MonitoringRecord, 'stage' | 'level' | 'code' | 'final'> & {
      useCaseId?: string;
      category?: MonitoringRecord['category'];
      detail?: Record<string, unknown>;
    },
  ): void {
    const event = this.request.events[index]!;
    this.records.push(
      monitoringRecord({
        org_id: this.request.orgId,
        integration_id: this.integrationId,
        event_id: eventId,
        correlation_id: correlationId,
        use_case_id: outcome.useCaseId,
        stage: outcome.stage,
        level: outcome.level,
        code: outcome.code,
        message: this.results[index]!.message,
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
        received_at: this.acceptedAt,
        created_at: this.acceptedAt,
      }),
    );
  }
}

/**
 * The payload as stored and sent: a string as received, an object serialised. An object nested too
 * deep to serialise is refused per event (`parsePayload`), and stored as a note saying so.
 */
const payloadText = (event: IncomingEvent) => {
  if (typeof event.payload === 'string') return event.payload;
  if (treeDepth(event.payload, MAX_PAYLOAD_DEPTH) > MAX_PAYLOAD_DEPTH) {
    return `(not stored: nested deeper than ${MAX_PAYLOAD_DEPTH} levels)`;
  }
  return JSON.stringify(event.payload);
};

/**
 * Validates, routes, deduplicates and hands events over to Kafka, in named steps: check the limits,
 * resolve the integration, judge each event (payload, route, duplicates within the request), claim the
 * deduplication ids (one insert for the request), store the events, send them with their monitoring
 * records (one produce request), mark the claims accepted. An event is answered `success` only once the
 * broker has acknowledged it (acks=all); if storing or the hand-over fails, no event of the request is
 * reported `success` and the whole request gets 503 (see `handOver` for what a retry then finds).
 */
export async function ingest(request: IngestRequest, deps: IngestDeps): Promise<{ results: EventResult[] }> {
  checkLimits(request, deps.limits);
  const integrationId = await resolveIntegration(request, deps);
  const snapshot = deps.config.integration(request.orgId, integrationId);
  if (!snapshot)
    throw notFound(`integration_id: integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');

  const answers = new Answers(request, integrationId);
  const routed = judge(request, snapshot.useCases, answers);
  const accepted = await claim(request, integrationId, routed, answers, deps, answers.requestId);
  const parent = parseTraceparent(request.traceparent);
  const messages = accepted.map((r) =>
    inboundMessage(request, integrationId, snapshot.integration.revision, r, answers, parent),
  );
  await handOver(messages, accepted, answers, deps, parent);
  try {
    await deps.dedupe.acceptMany(accepted.flatMap((r) => (r.claim ? [r.claim] : [])));
  } catch (err) {
    // The events are queued; only their duplicate protection is weaker: a duplicate is answered
    // DEDUPLICATION_BUSY until the claim is stale, then accepted again under the same event id, which
    // the pipeline applies once (ingest.int.test.ts).
    deps.logger.warn({ err, events: accepted.length }, 'could not mark deduplication ids accepted');
  }
  return { results: answers.results };
}

/** More events than a request may carry: refused whole, the limit named (decision 8). */
export function tooManyEvents(count: number, maxEvents: number) {
  return badRequest(
    `events: ${count} events exceed the limit of ${maxEvents} events per request`,
    'LIMIT_EXCEEDED',
  );
}

/** Over a limit: the whole request is refused with the limit named (decision 8). */
function checkLimits(request: IngestRequest, limits: IngestLimits): void {
  if (request.events.length > limits.maxEvents) throw tooManyEvents(request.events.length, limits.maxEvents);
  request.events.forEach((event, index) => {
    const size = Buffer.byteLength(payloadText(event));
    if (size > limits.maxPayloadBytes) {
      throw badRequest(
        `events[${index}].payload: ${size} bytes exceed the limit of ${limits.maxPayloadBytes} bytes per payload`,
        'LIMIT_EXCEEDED',
      );
    }
  });
}

/** The integration the request is for, once every configuration change answered before it is applied. */
async function resolveIntegration(request: IngestRequest, deps: IngestDeps): Promise<string> {
  try {
    await deps.mirror.catchUp(deps.limits.catchUpTimeoutMs);
  } catch (err) {
    throw unavailable(`configuration is not available yet: ${(err as Error).message}`, 'CONFIG_UNAVAILABLE');
  }
  if ('integrationId' in request.target) return request.target.integrationId;
  const { appId, componentId } = request.target;
  const mapped = deps.config.integrationForApp(request.orgId, appId, componentId);
  if (!mapped) {
    throw notFound(
      `app_id/component_id: no integration is mapped to app ${appId} component ${componentId}`,
      'APP_MAPPING_NOT_FOUND',
    );
  }
  return mapped;
}

/**
 * Each event on its own: a payload that does not parse is `error`, an event no use case takes is
 * `ignored`, a deduplication id seen earlier in the same request is `skipped`; the rest are routed.
 */
function judge(
  request: IngestRequest,
  useCases: Parameters<typeof routeEvent>[0],
  answers: Answers,
): Routed[] {
  const routed: Routed[] = [];
  const seenInRequest = new Set<string>();
  for (const [index, event] of request.events.entries()) {
    const eventId = answers.nextEventId();
    // Decision 2; an empty string counts as absent.
    const correlationId = event.correlationId || request.correlationId || newCorrelationId();
    try {
      parsePayload(event.format, event.payload);
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      answers.answer(index, eventId, 'error', `events[${index}].payload: ${err.message}`);
      answers.store(index, eventId, correlationId, null);
      answers.record(index, eventId, correlationId, {
        stage: 'rejected',
        level: 'error',
        code: 'PAYLOAD_INVALID',
        category: 'validation',
        final: true,
        detail: { format: event.format },
      });
      continue;
    }
    const route = routeEvent(useCases, { useCaseSlug: event.useCaseSlug, eventName: event.eventName });
    if (!route) {
      const what = event.useCaseSlug ? `use_case_slug "${event.useCaseSlug}"` : `event "${event.eventName}"`;
      answers.answer(index, eventId, 'ignored', `no enabled inbound use case for ${what}`);
      answers.store(index, eventId, correlationId, null);
      answers.record(index, eventId, correlationId, {
        stage: 'ignored',
        level: 'warning',
        code: 'NO_MATCHING_USE_CASE',
        final: true,
      });
      continue;
    }
    if (event.deduplicationId && seenInRequest.has(event.deduplicationId)) {
      answers.answer(index, eventId, 'skipped', 'duplicate deduplication_id in this request');
      answers.record(index, eventId, correlationId, {
        stage: 'skipped',
        level: 'skipped',
        code: 'DUPLICATE_EVENT',
        final: true,
        useCaseId: route.useCase.id,
        detail: { duplicate_of: 'this request' },
      });
      continue;
    }
    if (event.deduplicationId) seenInRequest.add(event.deduplicationId);
    routed.push({ index, eventId, correlationId, route });
  }
  return routed;
}

/**
 * Claims the request's deduplication ids at once (decision 7): an id accepted within the window is
 * `skipped`; one a concurrent request holds is `error` (retry); one a dead request held is taken over
 * with its event id. Returns the events to accept.
 */
async function claim(
  request: IngestRequest,
  integrationId: string,
  routed: Routed[],
  answers: Answers,
  deps: IngestDeps,
  owner: string,
): Promise<Routed[]> {
  const withIds = routed.filter((r) => request.events[r.index]!.deduplicationId);
  const outcomes = await deps.dedupe.claimMany(
    request.orgId,
    integrationId,
    withIds.map((r) => ({ deduplicationId: request.events[r.index]!.deduplicationId!, eventId: r.eventId })),
    owner,
  );
  const refused = new Set<Routed>();
  withIds.forEach((r, i) => {
    const outcome = outcomes[i]!;
    const deduplicationId = request.events[r.index]!.deduplicationId!;
    if (outcome.kind === 'claimed') {
      r.claim = outcome.claim;
      if (outcome.eventId) {
        r.eventId = outcome.eventId;
        r.reused = true;
      }
      return;
    }
    refused.add(r);
    if (outcome.kind === 'duplicate') {
      answers.answer(
        r.index,
        r.eventId,
        'skipped',
        `duplicate deduplication_id "${deduplicationId}" within the deduplication window`,
      );
      answers.record(r.index, r.eventId, r.correlationId, {
        stage: 'skipped',
        level: 'skipped',
        code: 'DUPLICATE_EVENT',
        final: true,
        useCaseId: r.route.useCase.id,
      });
    } else {
      answers.answer(
        r.index,
        r.eventId,
        'error',
        `a concurrent request with deduplication_id "${deduplicationId}" is still in progress; retry`,
      );
      answers.record(r.index, r.eventId, r.correlationId, {
        stage: 'rejected',
        level: 'error',
        code: 'DEDUPLICATION_BUSY',
        category: 'system',
        final: true,
        useCaseId: r.route.useCase.id,
      });
    }
  });
  const accepted = routed.filter((r) => !refused.has(r));
  for (const r of accepted) {
    answers.answer(r.index, r.eventId, 'success', 'Event queued for processing');
    answers.store(r.index, r.eventId, r.correlationId, r.route.useCase.id);
    answers.record(r.index, r.eventId, r.correlationId, {
      stage: 'accepted',
      level: 'success',
      code: '',
      final: false,
      useCaseId: r.route.useCase.id,
      detail: { routed_by: r.route.routedBy, use_case_slug: r.route.useCase.slug },
    });
  }
  return accepted;
}

/** The message of an accepted event on `erp.inbound.events` (key: integration, + group for order). */
function inboundMessage(
  request: IngestRequest,
  integrationId: string,
  revision: number,
  r: Routed,
  answers: Answers,
  parent: ReturnType<typeof parseTraceparent>,
): OutgoingMessage {
  const event = request.events[r.index]!;
  const value: InboundEventMessage = {
    schema_version: 1,
    event_id: r.eventId,
    org_id: request.orgId,
    integration_id: integrationId,
    use_case_id: r.route.useCase.id,
    config_revision: revision,
    routed_by: r.route.routedBy,
    correlation_id: r.correlationId,
    ...(event.eventType ? { event_type: event.eventType } : {}),
    event_name: event.eventName ?? event.useCaseSlug ?? r.route.useCase.slug,
    timestamp: event.timestamp,
    format: event.format,
    payload: payloadText(event),
    ...(event.deduplicationId ? { deduplication_id: event.deduplicationId } : {}),
    ...(event.groupId ? { group_id: event.groupId } : {}),
    accepted_at: answers.acceptedAt,
  };
  return {
    topic: Topics.inboundEvents,
    key: event.groupId ? `${integrationId}:${event.groupId}` : integrationId,
    value,
    headers: {
      [Headers.correlationId]: r.correlationId,
      [Headers.traceparent]: formatTraceparent(childTrace(parent)),
      [Headers.eventId]: r.eventId,
      [Headers.orgId]: request.orgId,
      [Headers.schemaVersion]: '1',
    },
  };
}

/**
 * Stores the events (so every event answered `success` can be queried and replayed), then sends them
 * with every monitoring record in one produce request; the request gets 503 with Retry-After if either
 * fails. Storing failed: nothing was sent, so the claims are released and a retry starts afresh. The send
 * failed: its outcome is unknown (the broker may have written the events and lost its answer, and with the
 * client's own retries the last error cannot tell whether an earlier attempt wrote), so the events stay
 * stored and their claims stay pending with their event ids, marked in doubt: the retry takes them over
 * at once and sends the same event ids, which the pipeline applies once (invariant 3). An event without a
 * deduplication id has no claim: its retry is a new event.
 */
async function handOver(
  messages: OutgoingMessage[],
  accepted: Routed[],
  answers: Answers,
  deps: IngestDeps,
  parent: ReturnType<typeof parseTraceparent>,
): Promise<void> {
  const claims = accepted.flatMap((r) => (r.claim ? [r.claim] : []));
  try {
    // One document for the request (ADR 18); an event id taken over from a dead request is stored once.
    await deps.events.insert(answers.stored, {
      requestId: answers.requestId,
      reused: accepted.flatMap((r) => (r.reused ? [r.eventId] : [])),
    });
  } catch (err) {
    deps.logger.error({ err, events: answers.stored.length }, 'could not store events');
    // A request split over several documents may be stored in part: nothing of it was accepted.
    await deps.events.remove(answers.requestId).catch(() => undefined);
    await deps.dedupe.releaseMany(claims).catch(() => undefined);
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
    const traceHeaders = { [Headers.traceparent]: formatTraceparent(childTrace(parent)) };
    await deps.producer.send([
      ...messages,
      ...answers.records.map((r) => monitoringMessage(r, traceHeaders)),
    ]);
  } catch (err) {
    deps.logger.error(
      { err, events: messages.length },
      'could not hand events over to Kafka (outcome unknown)',
    );
    await deps.dedupe.markInDoubt(claims).catch((markErr: unknown) => {
      // The claims go stale on their own; until then a retry is answered DEDUPLICATION_BUSY.
      deps.logger.warn({ err: markErr }, 'could not mark deduplication claims in doubt');
    });
    throw new ApiError(
      503,
      'BROKER_UNAVAILABLE',
      'events may not have been queued; retry the request (an event with a deduplication_id keeps its event id and is applied once)',
      {
        'retry-after': '5',
      },
    );
  }
}
