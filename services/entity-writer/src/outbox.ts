import { Headers, type ProcessedEntityMessage, Topics } from '@hub/contracts';
import type { IncomingMessage } from '@hub/kafka';
import type { Logger } from '@hub/observability';
import { type EntityDoc, entityView, type OutboxKnowledge } from './repository.js';
import type { Unconfirmed } from './writer.js';

/** What every message on `erp.entity.updates` says about where it came from. */
export interface Provenance {
  update_id: string;
  org_id: string;
  integration_id: string;
  use_case_id: string;
  event_id: string;
  correlation_id: string;
}

/** The entity a processed-entity message is about, and the id of the change (unique per change). */
export interface ChangeSubject {
  schema: string;
  entityId: string;
  uniqueIds: Record<string, unknown>;
  changeId: string;
}

export function processedMessage(
  action: ProcessedEntityMessage['action'],
  source: Provenance,
  subject: ChangeSubject,
  entity: Record<string, unknown>,
): ProcessedEntityMessage {
  return {
    schema_version: 1,
    action,
    org_id: source.org_id,
    entity_schema: subject.schema,
    entity_id: subject.entityId,
    unique_ids: subject.uniqueIds,
    entity,
    source: {
      event_id: source.event_id,
      integration_id: source.integration_id,
      use_case_id: source.use_case_id,
      update_id: source.update_id,
    },
    meta: {
      correlation_id: source.correlation_id,
      change_id: subject.changeId,
      processed_at: new Date().toISOString(),
    },
  };
}

export function toOutgoing(message: ProcessedEntityMessage, traceHeaders: Record<string, string>) {
  return {
    topic: Topics.entitiesProcessed,
    key: message.entity_id,
    value: message,
    headers: {
      ...traceHeaders,
      [Headers.correlationId]: message.meta.correlation_id,
      [Headers.eventId]: message.source.event_id,
      [Headers.orgId]: message.org_id,
      [Headers.schemaVersion]: '1',
    },
  };
}

/** Finds which of the given change ids already have a processed-entity message on the topic. */
export type PublishedCheck = (
  changes: ReadonlyArray<{ id: string; at: string; entityId: string }>,
) => Promise<Set<string>>;

/**
 * The processed messages of changes an earlier delivery wrote but may not have sent (it died between
 * the write and the send, ADR 4): the topic is searched for their change ids and a message is made
 * for each one that is not there, carrying the entity as it is now. Each change once: a call can meet
 * one change twice (the mapper redelivered its update next to the first copy), and a change whose
 * message this call sends anyway (`sending`: applied by an earlier run of the same call) needs none.
 * The chaos run (seed 437660, 2026-12) published two changes twice in one send before this.
 */
export async function missingMessages(
  unconfirmed: readonly Unconfirmed[],
  current: ReadonlyMap<string, EntityDoc>,
  published: PublishedCheck,
  logger: Logger,
  sending: ReadonlySet<string> = new Set(),
): Promise<ProcessedEntityMessage[]> {
  const once = new Map<string, Unconfirmed>();
  for (const u of unconfirmed) {
    if (!sending.has(u.change.id) && !once.has(u.change.id)) once.set(u.change.id, u);
  }
  if (once.size === 0) return [];
  const asked = [...once.values()];
  const already = await published(asked.map((u) => ({ ...u.change, entityId: u.entityId })));
  const missing = asked.filter((u) => !already.has(u.change.id));
  if (missing.length > 0) {
    logger.warn(
      { changeIds: missing.map((u) => u.change.id) },
      'changes written by an earlier delivery had no processed message on the topic; sending them now',
    );
  }
  const rebuilt = missing.filter((u) => !u.message).map((u) => u.change.id);
  if (rebuilt.length > 0) {
    logger.warn(
      { changeIds: rebuilt },
      'the outbox no longer held these messages: they are sent with the entity as it is now',
    );
  }
  return missing.map((u) => {
    if (u.message) return u.message;
    // A later write replaced the outbox (another partition wrote the entity meanwhile): the entity as
    // it is now is the closest there is.
    const entity = current.get(u.entityId);
    const subject = { schema: u.schema, entityId: u.entityId, uniqueIds: u.uniqueIds, changeId: u.change.id };
    return processedMessage(u.change.action, u.source, subject, entity ? entityView(entity) : {});
  });
}

/**
 * How far before a left-over message's `processed_at` the topic is searched: the message was built before
 * it was sent, possibly by another instance whose clock differs a little.
 */
export const PUBLISHED_CHECK_MARGIN_MS = 2 * 60 * 1000;

/** Change ids of `changes` found on the processed-entity topic (`scan` reads it from a time on). */
export function publishedCheck(
  scan: (sinceMs: number, keys: string[], visit: (value: Buffer | null) => void) => Promise<void>,
): PublishedCheck {
  return async (changes) => {
    const wanted = new Set(changes.map((c) => c.id));
    const since = Math.min(...changes.map((c) => Date.parse(c.at))) - PUBLISHED_CHECK_MARGIN_MS;
    const found = new Set<string>();
    // Processed messages are keyed by entity id: only those entities' partitions need reading.
    await scan(since, [...new Set(changes.map((c) => c.entityId))], (value) => {
      if (!value) return;
      try {
        const id = (JSON.parse(value.toString('utf8')) as ProcessedEntityMessage).meta?.change_id;
        if (id && wanted.has(id)) found.add(id);
      } catch {
        // not ours to judge: only the change ids matter here
      }
    });
    return found;
  };
}

/**
 * The change ids whose processed messages this process has sent (the most recent `capacity`): what an
 * entity's outbox no longer needs to keep (`withOutbox`).
 */
export class SentChanges {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 200_000) {}

  has(changeId: string): boolean {
    return this.ids.has(changeId);
  }

  add(changeIds: Iterable<string>): void {
    for (const id of changeIds) {
      this.ids.add(id);
      if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    }
  }
}

/** Where a message was read: `<topic>/<partition>/<offset>` (topic names have no `/`). */
const originOf = (m: Pick<IncomingMessage, 'topic' | 'partition' | 'offset'>) =>
  `${m.topic}/${m.partition}/${m.offset}`;

/**
 * Where the updates of one call of the consumer were read, and what that says about the messages that
 * entities' outboxes kept from earlier calls. The runner hands a partition's messages over in offset
 * order, a call sends its messages before it returns, and an offset is committed only after the call
 * that applied it returned: an update read before the first offset of its partition in this call was
 * applied by an earlier call of this process (its messages sent before this call began) or by an
 * earlier owner of the partition that committed past it. Its messages reached the topic, and no
 * redelivery looks for them any more (one would start at the committed offset, at or after it).
 *
 * This is what a process knows after a restart or a rebalance, when it has sent nothing yet
 * (`SentChanges` is empty): without it, every entity kept its earlier writes' messages, each with the
 * entity as written, for `OUTBOX_KEPT_MS` (the benchmark found contacts of 50-110 KB after its steps
 * that stop and start the writer, and the database's cost per event doubled).
 */
export class CallOrigins {
  /** `<topic>/<partition>` → the first offset of that partition in this call. */
  private readonly first = new Map<string, bigint>();
  private readonly updates = new Map<string, string>();

  constructor(messages: Iterable<Pick<IncomingMessage, 'topic' | 'partition' | 'offset'>>) {
    for (const m of messages) {
      const partition = `${m.topic}/${m.partition}`;
      const offset = BigInt(m.offset);
      const first = this.first.get(partition);
      if (first === undefined || offset < first) this.first.set(partition, offset);
    }
  }

  /** Records where the update `updateId` was read (the first time it was, if it came twice). */
  read(updateId: string, message: Pick<IncomingMessage, 'topic' | 'partition' | 'offset'>): void {
    if (!this.updates.has(updateId)) this.updates.set(updateId, originOf(message));
  }

  /** Whether the update read at `origin` is behind this call in its partition. */
  settled(origin: string): boolean {
    const cut = origin.lastIndexOf('/');
    const first = this.first.get(origin.slice(0, cut));
    if (first === undefined) return false;
    const offset = origin.slice(cut + 1);
    return /^\d+$/.test(offset) && BigInt(offset) < first;
  }

  /** What a write of this call knows about outboxes: this process's sends and this call's positions. */
  with(sent: { has(changeId: string): boolean }): OutboxKnowledge {
    return {
      has: (changeId) => sent.has(changeId),
      settled: (origin) => this.settled(origin),
      originOf: (updateId) => this.updates.get(updateId),
    };
  }
}
