import { decodeMessage, MessageSchemaError } from './decode.js';
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
  const text = value === null ? '' : typeof value === 'string' ? value : value.toString('utf8');
  let kind: unknown = 'entity';
  try {
    const raw = JSON.parse(text) as { kind?: unknown } | null;
    if (raw && typeof raw === 'object' && raw.kind !== undefined) kind = raw.kind;
  } catch {
    // decodeMessage below reports it
  }
  if (typeof kind !== 'string' || !Object.hasOwn(SCHEMAS, kind)) {
    throw new MessageSchemaError(Topics.entityUpdates, [
      `/kind must be one of ${Object.keys(SCHEMAS).join(', ')} (got ${JSON.stringify(kind)})`,
    ]);
  }
  const schema = SCHEMAS[kind as keyof typeof SCHEMAS];
  return decodeMessage(Topics.entityUpdates, schema, value) as EntityUpdatesTopicMessage;
}
