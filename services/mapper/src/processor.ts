import {
  type ConfigView,
  deadLetterRecord,
  decodeMessage,
  Headers,
  InboundEventMessage,
  MessageSchemaError,
  type MonitoringRecord,
  monitoringCategory,
  monitoringMessage,
  monitoringRecord,
  Topics,
} from '@hub/contracts';
import {
  type IncomingMessage,
  type MessageProducer,
  type OutgoingMessage,
  PermanentError,
  type TopicMirror,
} from '@hub/kafka';
import {
  CompiledMapping,
  type ExpressionLimits,
  type InboundConfiguration,
  type MappingResult,
  PayloadError,
  parsePayload,
} from '@hub/mapping';
import type { Logger } from '@hub/observability';
import { updateMessages } from './updates.js';

export interface ProcessorDeps {
  view: ConfigView;
  mirror: TopicMirror;
  producer: MessageProducer;
  logger: Logger;
  limits: ExpressionLimits;
  catchUpTimeoutMs: number;
}

/**
 * Turns one inbound event into entity updates, prune scopes, meter readings and reading prune scopes with
 * the use case's mapping, compiled once per use-case revision. All of them and the dead letter of any
 * update that failed are sent in one batch before the offset is committed.
 */
export class EventProcessor {
  private readonly compiled = new Map<string, CompiledMapping>();

  constructor(private readonly deps: ProcessorDeps) {}

  /** Maps one event and sends its outputs; returns the error code of the dead letter of failed updates, if any. */
  async handle(message: IncomingMessage): Promise<{ deadLetterCode?: string }> {
    const { out, deadLetterCode } = await this.map(message);
    await this.deps.producer.send(out);
    return deadLetterCode ? { deadLetterCode } : {};
  }

  /**
   * Maps consecutive events of a partition and sends all their outputs in one request: entity updates,
   * dead letters and monitoring records, including the dead letter of an event that can never be mapped
   * (`onPermanentFailure` makes it). Returns how many events were mapped and the dead letters' codes.
   */
  async handleBatch(
    messages: IncomingMessage[],
    onPermanentFailure: (message: IncomingMessage, error: PermanentError) => OutgoingMessage[],
  ): Promise<{ mapped: number; codes: string[] }> {
    const out: OutgoingMessage[] = [];
    const codes: string[] = [];
    let mapped = 0;
    for (const message of messages) {
      try {
        const result = await this.map(message);
        out.push(...result.out);
        mapped++;
        if (result.deadLetterCode) codes.push(result.deadLetterCode);
      } catch (err) {
        if (!(err instanceof PermanentError)) throw err;
        out.push(...onPermanentFailure(message, err));
        codes.push(err.code);
      }
    }
    await this.deps.producer.send(out);
    return { mapped, codes };
  }

  /** One event's outputs; a PermanentError when it can never be mapped. */
  private async map(message: IncomingMessage): Promise<{ out: OutgoingMessage[]; deadLetterCode?: string }> {
    let event: InboundEventMessage;
    try {
      event = decodeMessage(Topics.inboundEvents, InboundEventMessage, message.value);
    } catch (err) {
      if (err instanceof MessageSchemaError) throw new PermanentError(err.code, 'validation', err.message);
      throw err;
    }
    const log = this.deps.logger.child({
      eventId: event.event_id,
      correlationId: event.correlation_id,
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
    });

    const mapping = await this.mappingFor(event);
    let payload: unknown;
    try {
      payload = parsePayload(event.format, event.payload);
    } catch (err) {
      if (err instanceof PayloadError) throw new PermanentError('PAYLOAD_INVALID', 'validation', err.message);
      throw err;
    }
    const result = await mapping.map(payload);

    const headers = {
      ...message.headers,
      [Headers.correlationId]: event.correlation_id,
      [Headers.eventId]: event.event_id,
      [Headers.orgId]: event.org_id,
      [Headers.schemaVersion]: '1',
    };
    const out: OutgoingMessage[] = updateMessages(event, result).map(({ key, value }) => ({
      topic: Topics.entityUpdates,
      key,
      value,
      headers,
    }));
    if (result.failures.length > 0) {
      const first = result.failures[0]!;
      out.push(
        deadLetterRecord(
          'mapper',
          message,
          {
            code: first.code,
            category: 'mapping',
            message: result.failures.map((f) => `${f.entity_schema}: ${f.message}`).join('; '),
          },
          1,
        ),
      );
      log.warn({ failures: result.failures }, 'some entity updates of this event failed to map');
    }
    out.push(...mappingRecords(event, result).map((r) => monitoringMessage(r, headers)));
    log.debug(
      {
        updates: result.entity_updates.length,
        pruneScopes: result.prune_scope_updates.length,
        readings: result.meter_readings_updates.length,
        readingPruneScopes: result.meter_readings_prune_scope_updates.length,
        failures: result.failures.length,
      },
      'event mapped',
    );
    return result.failures.length > 0 ? { out, deadLetterCode: result.failures[0]!.code } : { out };
  }

  private async mappingFor(event: InboundEventMessage): Promise<CompiledMapping> {
    const { view, mirror } = this.deps;
    let snapshot = view.integration(event.org_id, event.integration_id);
    if (!snapshot || snapshot.integration.revision < event.config_revision) {
      await mirror.catchUp(this.deps.catchUpTimeoutMs); // throws (transient) if the topic cannot be read
      snapshot = view.integration(event.org_id, event.integration_id);
    }
    if (!snapshot) {
      throw new PermanentError(
        'INTEGRATION_NOT_FOUND',
        'configuration',
        `integration ${event.integration_id} no longer exists`,
      );
    }
    if (snapshot.integration.revision < event.config_revision) {
      throw new Error(
        `configuration revision ${event.config_revision} of ${event.integration_id} not seen yet`,
      );
    }
    const useCase = snapshot.useCases.find((u) => u.id === event.use_case_id);
    if (!useCase) {
      throw new PermanentError(
        'USE_CASE_NOT_FOUND',
        'configuration',
        `use case ${event.use_case_id} no longer exists`,
      );
    }
    const key = `${useCase.id}@${useCase.revision}`;
    let compiled = this.compiled.get(key);
    if (!compiled) {
      try {
        compiled = CompiledMapping.compile(
          (useCase.configuration ?? {}) as InboundConfiguration,
          this.deps.limits,
        );
      } catch (err) {
        throw new PermanentError('CONFIGURATION_INVALID', 'configuration', (err as Error).message);
      }
      for (const k of this.compiled.keys()) if (k.startsWith(`${useCase.id}@`)) this.compiled.delete(k);
      this.compiled.set(key, compiled);
    }
    return compiled;
  }
}

/**
 * The monitoring records of one mapped event: `mapped` with the fan-out (unless every update failed),
 * and one `mapping_failed` per update that could not be produced (its dead letter is in the same batch).
 * An event that maps to nothing is a final `mapped` warning (`NOTHING_MAPPED`).
 */
export function mappingRecords(
  event: InboundEventMessage,
  result: Pick<
    MappingResult,
    | 'entity_updates'
    | 'prune_scope_updates'
    | 'meter_readings_updates'
    | 'meter_readings_prune_scope_updates'
    | 'failures'
    | 'warnings'
  >,
  now = new Date().toISOString(),
): MonitoringRecord[] {
  const base = {
    org_id: event.org_id,
    integration_id: event.integration_id,
    event_id: event.event_id,
    correlation_id: event.correlation_id,
    use_case_id: event.use_case_id,
    event_type: event.event_type,
    object_type: event.event_name,
    received_at: event.accepted_at,
    created_at: now,
  };
  const fanOut =
    result.entity_updates.length +
    result.prune_scope_updates.length +
    result.meter_readings_updates.length +
    result.meter_readings_prune_scope_updates.length;
  const records: MonitoringRecord[] = [];
  if (fanOut > 0 || result.failures.length === 0) {
    records.push(
      monitoringRecord({
        ...base,
        stage: 'mapped',
        level: fanOut > 0 ? 'success' : 'warning',
        code: fanOut > 0 ? '' : 'NOTHING_MAPPED',
        message:
          fanOut > 0
            ? `mapped to ${fanOut} update${fanOut === 1 ? '' : 's'}`
            : 'the mapping produced no updates for this event',
        final: fanOut === 0,
        detail: {
          fan_out: fanOut,
          entity_updates: result.entity_updates.length,
          prune_scopes: result.prune_scope_updates.length,
          meter_readings: result.meter_readings_updates.length,
          meter_reading_prune_scopes: result.meter_readings_prune_scope_updates.length,
          failures: result.failures.length,
          warnings: result.warnings.length,
          routed_by: event.routed_by,
        },
      }),
    );
  }
  for (const f of result.failures) {
    records.push(
      monitoringRecord({
        ...base,
        stage: 'mapping_failed',
        subject: `${f.section}:${f.entity_index}:${f.element_index ?? ''}`,
        level: 'error',
        code: f.code,
        message: `${f.entity_schema}: ${f.message}`,
        category: monitoringCategory('mapping'),
        final: true,
        sync_type: f.section === 'meter_readings' ? 'meter_reading' : 'entity',
        detail: {
          entity_schema: f.entity_schema,
          section: f.section,
          entity_index: f.entity_index,
          ...(f.element_index !== undefined ? { element_index: f.element_index } : {}),
          ...(f.attribute ? { attribute: f.attribute } : {}),
          dead_lettered: true,
        },
      }),
    );
  }
  return records;
}
