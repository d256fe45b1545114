import {
  type EntityUpdateMessage,
  entityKey,
  Headers,
  type InboundEventMessage,
  newEventId,
  Topics,
} from '@hub/contracts';
import type { OutgoingMessage } from '@hub/kafka';
import { CompiledMapping, DEFAULT_LIMITS, type InboundConfiguration } from '@hub/mapping';

/** The getting-started guide's integration and use case (README, docs/GETTING_STARTED.md). */
export const GUIDE_INTEGRATION = {
  name: 'SAP Integration',
  description: 'Customer and contract synchronization from SAP',
};
export const GUIDE_USE_CASE = {
  name: 'Customer Sync',
  type: 'inbound',
  enabled: true,
  configuration: {
    entities: [
      {
        entity_schema: 'contact',
        unique_ids: ['customer_number'],
        fields: [
          { attribute: 'customer_number', field: 'customerId' },
          { attribute: 'first_name', field: 'firstName' },
          { attribute: 'last_name', field: 'lastName' },
          { attribute: 'email', field: 'email', _type: 'email' },
        ],
      },
    ],
  },
};

/** An integration the benchmark created through the API, and how its events are sent. */
export interface Target {
  org: string;
  token: string;
  integrationId: string;
  useCaseId: string;
  useCaseSlug: string;
  /** v3 events carry the customer as `group_id` (else none: the integration is one ordering group). */
  grouped: boolean;
}

export const customerNumber = (n: number) => `C${String(n).padStart(6, '0')}`;

/** The guide's payload; `version` goes into `firstName`, so every event changes its entity. */
export function contactPayload(customer: string, version: number): string {
  return JSON.stringify({
    customerId: customer,
    firstName: `John ${version}`,
    lastName: 'Doe',
    email: `${customer.toLowerCase()}@example.com`,
  });
}

/** One v3 event: grouped integrations route by `use_case_slug`, the other by `event_name`. */
export function v3Event(target: Target, customer: string, version: number, deduplicationId: string) {
  return {
    ...(target.grouped
      ? { use_case_slug: target.useCaseSlug, group_id: customer }
      : { event_name: GUIDE_USE_CASE.name }),
    event_type: 'UPDATE',
    timestamp: new Date().toISOString(),
    format: 'json',
    deduplication_id: deduplicationId,
    payload: contactPayload(customer, version),
  };
}

/** The message the gateway would send for one accepted event: same value, key and headers. */
export function inboundMessage(
  target: Target,
  customer: string,
  version: number,
  configRevision: number,
  topic: string = Topics.inboundEvents,
): OutgoingMessage {
  const eventId = newEventId();
  const correlationId = crypto.randomUUID();
  const value: InboundEventMessage = {
    schema_version: 1,
    event_id: eventId,
    org_id: target.org,
    integration_id: target.integrationId,
    use_case_id: target.useCaseId,
    config_revision: configRevision,
    routed_by: 'use_case_slug',
    correlation_id: correlationId,
    event_type: 'UPDATE',
    event_name: target.useCaseSlug,
    timestamp: new Date().toISOString(),
    format: 'json',
    payload: contactPayload(customer, version),
    deduplication_id: `bench-${eventId}`,
    ...(target.grouped ? { group_id: customer } : {}),
    accepted_at: new Date().toISOString(),
  };
  return {
    topic,
    key: target.grouped ? `${target.integrationId}:${customer}` : target.integrationId,
    value,
    headers: {
      [Headers.correlationId]: correlationId,
      [Headers.eventId]: eventId,
      [Headers.orgId]: target.org,
      [Headers.schemaVersion]: '1',
    },
  };
}

const guideMapping = CompiledMapping.compile(
  GUIDE_USE_CASE.configuration as unknown as InboundConfiguration,
  DEFAULT_LIMITS,
);

/** The entity update the mapper makes of one event (mapped by the same engine), keyed by the entity. */
export async function entityUpdateMessage(
  target: Target,
  customer: string,
  version: number,
): Promise<OutgoingMessage> {
  const result = await guideMapping.map(JSON.parse(contactPayload(customer, version)));
  const update = result.entity_updates[0];
  if (!update) throw new Error(`the guide's mapping produced no update: ${JSON.stringify(result.failures)}`);
  const eventId = newEventId();
  const correlationId = crypto.randomUUID();
  const value: EntityUpdateMessage = {
    schema_version: 1,
    update_id: `${eventId}:0`,
    org_id: target.org,
    integration_id: target.integrationId,
    use_case_id: target.useCaseId,
    event_id: eventId,
    correlation_id: correlationId,
    event_type: 'UPDATE',
    event_name: target.useCaseSlug,
    received_at: new Date().toISOString(),
    entity_schema: update.entity_slug,
    mode: 'upsert',
    unique_ids: update.unique_identifiers,
    attributes: update.attributes,
  };
  return {
    topic: Topics.entityUpdates,
    key: entityKey(target.org, update.entity_slug, update.unique_identifiers),
    value,
    headers: {
      [Headers.correlationId]: correlationId,
      [Headers.eventId]: eventId,
      [Headers.orgId]: target.org,
      [Headers.schemaVersion]: '1',
    },
  };
}
