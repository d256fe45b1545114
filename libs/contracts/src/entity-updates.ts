import { checkMessage, MessageSchemaError, parseMessage } from './decode.js';
import {
  EntityUpdateMessage,
  type EntityUpdatesTopicMessage,
  MeterReadingPruneScopeMessage,
  MeterReadingUpdateMessage,
  PruneScopeUpdateMessage,
} from './messages.js';
import { Topics } from './topics.js';

const SCHEMAS = {
  entity: EntityUpdateMessage,
  prune_scope: PruneScopeUpdateMessage,
  meter_reading: MeterReadingUpdateMessage,
  meter_reading_prune_scope: MeterReadingPruneScopeMessage,
} as const;

/**
 * Decodes a message of `erp.entity.updates` by its `kind` (absent: an entity update), so a problem is
 * reported against the one schema it should match rather than a union of all of them.
 */
export function decodeEntityUpdatesMessage(value: Buffer | string | null): EntityUpdatesTopicMessage {
  // Parsed once (issue 22: the writer parsed every message twice, for its kind and for its schema).
  const parsed = parseMessage(Topics.entityUpdates, value);
  let kind: unknown = 'entity';
  if (parsed && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind !== undefined)
    kind = (parsed as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !Object.hasOwn(SCHEMAS, kind)) {
    throw new MessageSchemaError(Topics.entityUpdates, [
      `/kind must be one of ${Object.keys(SCHEMAS).join(', ')} (got ${JSON.stringify(kind)})`,
    ]);
  }
  const schema = SCHEMAS[kind as keyof typeof SCHEMAS];
  return checkMessage(Topics.entityUpdates, schema, parsed) as EntityUpdatesTopicMessage;
}
