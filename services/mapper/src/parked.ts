import {
  type ConfigView,
  decodeMessage,
  InboundEventMessage,
  MessageSchemaError,
  ParkedHeaders,
  Topics,
} from '@hub/contracts';
import {
  type IncomingMessage,
  isBrokerUnavailable,
  type MessageProducer,
  PermanentError,
  type TopicMirror,
} from '@hub/kafka';

/** The parked event's use case is still at the quarantined revision: wait (retried without limit). */
export class StillQuarantinedError extends Error {
  constructor(useCaseId: string, revision: number) {
    super(`use case ${useCaseId} is still quarantined at revision ${revision}`);
    this.name = 'StillQuarantinedError';
  }
}

/** Waiting for a configuration change or for the broker: neither is the parked event's fault. */
export const isWaiting = (err: unknown) => err instanceof StillQuarantinedError || isBrokerUnavailable(err);

/**
 * Hands a parked event (`erp.inbound.parked`) back to `erp.inbound.events` once its use case's
 * configuration changed (another revision than the quarantined one, or the use case gone: the mapper then
 * dead-letters it as for any event of a removed use case). Until then it throws StillQuarantinedError and
 * the consumer retries it with backoff, so the parked partition waits; it holds only parked events.
 */
export async function resumeParked(
  message: IncomingMessage,
  deps: { view: ConfigView; mirror: TopicMirror; producer: MessageProducer; catchUpTimeoutMs: number },
): Promise<'resumed'> {
  let event: InboundEventMessage;
  try {
    event = decodeMessage(Topics.inboundEvents, InboundEventMessage, message.value);
  } catch (err) {
    if (err instanceof MessageSchemaError) throw new PermanentError(err.code, 'validation', err.message);
    throw err;
  }
  const useCaseId = message.headers[ParkedHeaders.useCaseId] ?? event.use_case_id;
  const revision = Number(message.headers[ParkedHeaders.revision]);
  await deps.mirror.catchUp(deps.catchUpTimeoutMs);
  const current = deps.view
    .integration(event.org_id, event.integration_id)
    ?.useCases.find((u) => u.id === useCaseId);
  if (current && current.revision === revision) throw new StillQuarantinedError(useCaseId, revision);
  const headers = { ...message.headers };
  delete headers[ParkedHeaders.useCaseId];
  delete headers[ParkedHeaders.revision];
  const value = message.value?.toString('utf8') ?? null; // the text as it came (a Buffer would be re-encoded)
  await deps.producer.send([{ topic: Topics.inboundEvents, key: message.key, value, headers }]);
  return 'resumed';
}
