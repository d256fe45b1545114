import type { TSchema } from 'typebox';
import {
  ConfigChangeMessage,
  DeadLetterMessage,
  EntityUpdatesTopicMessage,
  InboundEventMessage,
  ProcessedEntityMessage,
  UseCaseQuarantineMessage,
} from './messages.js';
import { MonitoringRecord } from './monitoring.js';
import { ConfigHeaders, Headers, type TopicName, Topics } from './topics.js';

/**
 * The topics' machine-readable contract: an AsyncAPI 3.0 document built from the same TypeBox schemas the
 * services encode and decode with (TypeBox schemas are JSON Schema), served by the edge at /asyncapi.json.
 * `public` topics are the ones other teams may read; their schemas are versioned and guarded
 * (libs/contracts/schemas, `npm run contracts`). `internal` topics are listed for operators: only the hub's
 * own services write and read them, and they may change with any release.
 */

export type JsonSchema = Record<string, unknown>;

/** One topic's published contract: what a snapshot in libs/contracts/schemas holds. */
export interface TopicContract {
  topic: TopicName;
  visibility: 'public' | 'internal';
  /** The payload's `schema_version` (the `x-schema-version` header of the messages the hub writes). */
  version: number;
  key: JsonSchema;
  headers: JsonSchema;
  payload: JsonSchema;
}

const str = (description: string): JsonSchema => ({ type: 'string', description });

const headerText = {
  [Headers.correlationId]:
    'The correlation id of the HTTP request that brought the event (the business key: searchable in monitoring, kept across replays).',
  [Headers.traceparent]:
    'W3C trace context (https://www.w3.org/TR/trace-context/): one trace from the HTTP request on.',
  [Headers.eventId]: 'The id of the ERP event behind the message (`evt_` + ULID).',
  [Headers.orgId]: 'The organisation the message belongs to.',
  [Headers.schemaVersion]: "The payload's `schema_version`, as a decimal string.",
} as const;

/** Headers the hub's services put on every message they write for an event (`x-event-id` where one exists). */
function eventHeaders(version: number, required: string[]): JsonSchema {
  return {
    type: 'object',
    required,
    properties: {
      [Headers.correlationId]: str(headerText[Headers.correlationId]),
      [Headers.traceparent]: {
        ...str(headerText[Headers.traceparent]),
        pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
      },
      [Headers.eventId]: str(headerText[Headers.eventId]),
      [Headers.orgId]: str(headerText[Headers.orgId]),
      [Headers.schemaVersion]: { ...str(headerText[Headers.schemaVersion]), const: String(version) },
    },
  };
}

/** The `schema_version` literal of a payload schema (every variant of a union carries the same one). */
const versionOf = (schema: TSchema): number => {
  const s = schema as { anyOf?: TSchema[]; properties?: { schema_version?: { const?: unknown } } };
  const versions = new Set(s.anyOf ? s.anyOf.map(versionOf) : [s.properties?.schema_version?.const]);
  const [v] = versions;
  if (versions.size !== 1 || typeof v !== 'number') {
    throw new Error('a topic payload schema must fix schema_version with one literal');
  }
  return v;
};

/** A plain JSON copy of a TypeBox schema: the document carries the very schema the code validates with. */
const json = (schema: TSchema): JsonSchema => JSON.parse(JSON.stringify(schema)) as JsonSchema;

function contract(
  topic: TopicName,
  visibility: TopicContract['visibility'],
  schema: TSchema,
  key: JsonSchema,
  headers: (version: number) => JsonSchema,
): TopicContract {
  const version = versionOf(schema);
  return { topic, visibility, version, key, headers: headers(version), payload: json(schema) };
}

/** Every topic's contract: the two public topics first. */
export function topicContracts(): TopicContract[] {
  const all = [
    Headers.correlationId,
    Headers.traceparent,
    Headers.eventId,
    Headers.orgId,
    Headers.schemaVersion,
  ];
  return [
    contract(
      Topics.entitiesProcessed,
      'public',
      ProcessedEntityMessage,
      str('The entity id (`entity_id`): every change of one entity is on one partition, in order.'),
      (v) => eventHeaders(v, all),
    ),
    contract(
      Topics.deadLetters,
      'public',
      DeadLetterMessage,
      {
        type: ['string', 'null'],
        description: "The failed message's own key (null when it had none).",
      },
      () => ({
        type: 'object',
        description:
          "The failed message's own headers, copied (so `x-schema-version` is the failed message's version, not the dead letter's); also in `original.headers`.",
        properties: {
          [Headers.correlationId]: str(headerText[Headers.correlationId]),
          [Headers.traceparent]: str(headerText[Headers.traceparent]),
          [Headers.eventId]: str(headerText[Headers.eventId]),
          [Headers.orgId]: str(headerText[Headers.orgId]),
          [Headers.schemaVersion]: str("The failed message's `schema_version`, as a decimal string."),
        },
        additionalProperties: { type: 'string' },
      }),
    ),
    contract(
      Topics.inboundEvents,
      'internal',
      InboundEventMessage,
      str(
        'The integration id, `:` and the `group_id` when the event has one: the events of one integration (group) keep their order.',
      ),
      (v) => eventHeaders(v, [Headers.correlationId, Headers.eventId, Headers.orgId, Headers.schemaVersion]),
    ),
    contract(
      Topics.parkedEvents,
      'internal',
      InboundEventMessage,
      str('As on `erp.inbound.events`: the integration id, `:` and the `group_id` when the event has one.'),
      (v) => eventHeaders(v, [Headers.correlationId, Headers.eventId, Headers.orgId, Headers.schemaVersion]),
    ),
    contract(
      Topics.entityUpdates,
      'internal',
      EntityUpdatesTopicMessage,
      str(
        '`org|schema|unique-id values` (the entity, scope or meter): updates of one entity keep their order.',
      ),
      (v) => eventHeaders(v, [Headers.correlationId, Headers.eventId, Headers.orgId, Headers.schemaVersion]),
    ),
    contract(
      Topics.monitoringEvents,
      'internal',
      MonitoringRecord,
      str('The event id, else (external spans) the correlation id.'),
      (v) => eventHeaders(v, [Headers.correlationId, Headers.orgId, Headers.schemaVersion]),
    ),
    contract(
      Topics.quarantines,
      'internal',
      UseCaseQuarantineMessage,
      str(
        '`<use case id>@<revision>`. Compacted: one record per quarantined use case revision; a null value (tombstone) releases it.',
      ),
      (v) => eventHeaders(v, [Headers.orgId, Headers.schemaVersion]),
    ),
    contract(
      Topics.configChanges,
      'internal',
      ConfigChangeMessage,
      str(
        'The integration id. Compacted: the latest snapshot per integration; a null value (tombstone) deletes it.',
      ),
      (v) => {
        const headers = eventHeaders(v, [Headers.orgId, Headers.schemaVersion]);
        return {
          ...headers,
          properties: {
            ...(headers.properties as JsonSchema),
            [ConfigHeaders.revision]: {
              ...str(
                "The snapshot's `integration.revision`, as decimal text: a mirror keeps the newest record per integration without decoding it (ADR 0015, decision 23). Absent on records published before it; those are decoded on arrival.",
              ),
              pattern: '^[1-9][0-9]*$',
            },
          },
        };
      },
    ),
  ];
}

interface ChannelText {
  id: string;
  message: string;
  title: string;
  description: string;
  writers: string;
  readers: Array<{ id: string; summary: string; groupId: JsonSchema }>;
  cleanup: 'delete' | 'compact';
}

const SUBSCRIBER_GROUP: JsonSchema = {
  type: 'string',
  description:
    "Your own consumer group, one per subscribing application (e.g. `crm-sync`); scale by adding instances to it. Never a group of the hub's (`mapper`, `entity-writer`, `config-service-monitoring`).",
};

const channelText: Record<TopicName, ChannelText> = {
  [Topics.entitiesProcessed]: {
    id: 'entitiesProcessed',
    message: 'ProcessedEntity',
    title: 'Processed entities',
    description:
      'One message per entity created, updated or deleted by the entity-writer. Public and versioned (docs/processed-entities.md). Ordering: the key is the entity id, so all changes of one entity are on one partition in order; different entities have no order between them. Delivery is at least once: a change may arrive again after a failure, with the same `meta.change_id`: deduplicate on it. Ignore fields you do not know (additive changes keep the version); a message with a `schema_version` you do not know is not for you (a breaking change raises it).',
    writers:
      'The entity-writer publishes each change after writing it and before committing its input offset.',
    readers: [
      {
        id: 'subscribeProcessedEntities',
        summary: 'Internal subscribers read the changes in their own consumer group.',
        groupId: SUBSCRIBER_GROUP,
      },
    ],
    cleanup: 'delete',
  },
  [Topics.deadLetters]: {
    id: 'deadLetters',
    message: 'DeadLetter',
    title: 'Dead letters',
    description:
      'Messages that can never succeed (a mapping error, a missing meter, an undecodable message...), each with its provenance (the original key, value, headers, topic, partition and offset), the error (code, category, message) and the number of attempts. The same failure is visible in monitoring. Read it in your own consumer group to alert or repair; the hub does not read it back. Delivery is at least once.',
    writers: 'The mapper and the entity-writer dead-letter a message that can never succeed, then move on.',
    readers: [
      {
        id: 'readDeadLetters',
        summary: 'Operators and tools read the dead letters in their own consumer group.',
        groupId: SUBSCRIBER_GROUP,
      },
    ],
    cleanup: 'delete',
  },
  [Topics.inboundEvents]: {
    id: 'inboundEvents',
    message: 'InboundEvent',
    title: 'Inbound events (internal)',
    description:
      'Internal: one message per accepted event, routed to a use case. Written by the ingest-gateway (and replays by the config-service), read by the mapper. No compatibility promise to anyone outside the hub.',
    writers: 'The ingest-gateway hands each accepted event over (acks=all) before answering success.',
    readers: [
      { id: 'mapInboundEvents', summary: 'The mapper.', groupId: { type: 'string', const: 'mapper' } },
    ],
    cleanup: 'delete',
  },
  [Topics.parkedEvents]: {
    id: 'parkedEvents',
    message: 'InboundEvent',
    title: 'Parked inbound events (internal)',
    description:
      "Internal: the inbound events of a use case the mapper quarantined (its events kept hitting the mapping budget), as they were on `erp.inbound.events`, with the quarantined revision in `x-parked-revision`. The mapper hands each back to `erp.inbound.events` once the use case's configuration has changed (ADR 0015). No compatibility promise outside the hub.",
    writers: 'The mapper parks the events of a quarantined use case instead of mapping them.',
    readers: [
      {
        id: 'resumeParkedEvents',
        summary: 'The mapper, which hands the events back once the configuration changed.',
        groupId: { type: 'string', const: 'mapper.parked' },
      },
    ],
    cleanup: 'delete',
  },
  [Topics.entityUpdates]: {
    id: 'entityUpdates',
    message: 'EntityUpdate',
    title: 'Entity updates (internal)',
    description:
      'Internal: one message per entity update, prune scope or meter reading the mapper produced (by `kind`). Read by the entity-writer. No compatibility promise outside the hub.',
    writers: 'The mapper sends the updates of an event in one batch.',
    readers: [
      {
        id: 'writeEntityUpdates',
        summary: 'The entity-writer.',
        groupId: { type: 'string', const: 'entity-writer' },
      },
    ],
    cleanup: 'delete',
  },
  [Topics.monitoringEvents]: {
    id: 'monitoringEvents',
    message: 'MonitoringRecord',
    title: 'Monitoring records (internal)',
    description:
      'Internal: one record per stage of an event (docs/monitoring.md), written by every stage; stored by the config-service, which serves the monitoring API. Read monitoring through the API, not this topic.',
    writers:
      'The gateway, the config-service, the mapper and the entity-writer, each with its other outputs.',
    readers: [
      {
        id: 'storeMonitoringRecords',
        summary: "The config-service's monitoring sink.",
        groupId: { type: 'string', const: 'config-service-monitoring' },
      },
    ],
    cleanup: 'delete',
  },
  [Topics.quarantines]: {
    id: 'useCaseQuarantines',
    message: 'UseCaseQuarantine',
    title: 'Quarantined use cases (internal, compacted)',
    description:
      "Internal: the use case revisions the mapper quarantined (their events kept hitting the mapping budget; ADR 0015), so every mapper instance parks their events, also after a restart, and the configuration API shows the use case's `status`. Read it through the API (`status: quarantined` on the use case).",
    writers:
      "The mapper, with each event it parks (same record again); the mapper's parked lane writes the tombstone when it hands the events of a changed use case back.",
    readers: [
      {
        id: 'mirrorUseCaseQuarantines',
        summary:
          'The mapper and the config-service mirror the whole topic from the beginning, each instance in a group of its own.',
        groupId: {
          type: 'string',
          description: '`<client id>-mirror-<random UUID>`: a new group per instance and start.',
        },
      },
    ],
    cleanup: 'compact',
  },
  [Topics.configChanges]: {
    id: 'configChanges',
    message: 'ConfigChange',
    title: 'Configuration changes (internal, compacted)',
    description:
      'Internal: the latest snapshot of each integration with its use cases, so the gateway and the mapper refresh their caches without polling. Read the configuration through the API.',
    writers: 'The config-service after each change of an integration or use case.',
    readers: [
      {
        id: 'mirrorConfigChanges',
        summary:
          'The gateway and the mapper mirror the whole topic from the beginning, each instance in a group of its own.',
        groupId: {
          type: 'string',
          description: '`<client id>-mirror-<random UUID>`: a new group per instance and start.',
        },
      },
    ],
    cleanup: 'compact',
  },
};

const KAFKA_BINDING = '0.5.0';

export interface AsyncApiOptions {
  /** The bootstrap brokers subscribers connect to (listed as the document's server); none when absent. */
  kafkaBrokers?: string[];
}

/** The AsyncAPI 3.0 document of every topic (public ones versioned; internal ones marked so). */
export function buildAsyncApi(options: AsyncApiOptions = {}): JsonSchema {
  const channels: JsonSchema = {};
  const operations: JsonSchema = {};
  const messages: JsonSchema = {};
  for (const c of topicContracts()) {
    const t = channelText[c.topic];
    const tags = [{ name: c.visibility }];
    messages[t.message] = {
      name: t.message,
      title: `${t.title}, schema_version ${c.version}`,
      contentType: 'application/json',
      tags,
      'x-schema-version': c.version,
      headers: c.headers,
      payload: c.payload,
      correlationId: {
        description: 'The business correlation id of the event.',
        location: `$message.header#/${Headers.correlationId}`,
      },
      bindings: { kafka: { key: c.key, bindingVersion: KAFKA_BINDING } },
    };
    channels[t.id] = {
      address: c.topic,
      title: t.title,
      description: t.description,
      tags,
      'x-visibility': c.visibility,
      messages: { [t.message]: { $ref: `#/components/messages/${t.message}` } },
      bindings: {
        kafka: {
          topic: c.topic,
          topicConfiguration: { 'cleanup.policy': [t.cleanup] },
          bindingVersion: KAFKA_BINDING,
        },
      },
    };
    const channelRef = { $ref: `#/channels/${t.id}` };
    const messageRef = { $ref: `#/channels/${t.id}/messages/${t.message}` };
    operations[`write${t.message}`] = {
      action: 'send',
      channel: channelRef,
      summary: t.writers,
      tags,
      messages: [messageRef],
    };
    for (const r of t.readers) {
      operations[r.id] = {
        action: 'receive',
        channel: channelRef,
        summary: r.summary,
        tags,
        messages: [messageRef],
        bindings: { kafka: { groupId: r.groupId, bindingVersion: KAFKA_BINDING } },
      };
    }
  }
  const brokers = options.kafkaBrokers ?? [];
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'ERP integration hub: topics',
      version: '1.0.0',
      description:
        "The Kafka topics of the ERP integration hub. Subscribe to `erp.entities.processed` (and read `erp.dead-letters`); the channels tagged `internal` are the services' own and may change with any release. Payloads are JSON (UTF-8); every schema here is generated from the TypeBox schemas the services use (libs/contracts). Each public schema is versioned: `schema_version` in the payload and the `x-schema-version` header; additive changes keep the version, anything that could break a consumer raises it (docs/processed-entities.md).",
      tags: [
        { name: 'public', description: 'Other teams may read these topics; versioned, changes announced.' },
        { name: 'internal', description: "The hub's services only; no compatibility promise." },
      ],
    },
    defaultContentType: 'application/json',
    ...(brokers.length > 0
      ? {
          servers: {
            kafka: {
              host: brokers[0],
              protocol: 'kafka',
              description: `Bootstrap brokers: ${brokers.join(', ')}.`,
            },
          },
        }
      : {}),
    channels,
    operations,
    components: { messages },
  };
}
