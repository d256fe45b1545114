/**
 * The entity-writer's recovery paths (writer.ts, apply.ts, app.ts), on the real broker and the real
 * database: the writer is built as the service builds it (`buildWriter`) and consumes a topic of its own;
 * its producer reaches the broker through KafkaProxy and its database client reaches FerretDB through the
 * MongoFaultInjector, so faults happen where they happen in production. What is checked is what a user
 * sees: the entities stored and the messages on `erp.entities.processed` and `erp.dead-letters`.
 */
import { randomUUID } from 'node:crypto';
import {
  type EntityUpdateMessage,
  type ProcessedEntityMessage,
  type PruneScopeUpdateMessage,
  Topics,
} from '@hub/contracts';
import { KafkaClient, type MessageProducer, TopicScanner } from '@hub/kafka';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import {
  collectTopic,
  devEnv,
  eventually,
  KafkaProxy,
  MongoFaultInjector,
  resolveStack,
  type TopicCollector,
  uniqueName,
} from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWriter, TOPICS_OWNED } from './app.js';
import { loadWriterConfig } from './config.js';
import { appliedChanges, type EntityDoc, outboxOf } from './repository.js';

const stack = resolveStack();
const logger = createLogger({ service: 'writer-int-test', level: 'silent' });
const APP_NAME = 'writer-under-test';
const topic = uniqueName('writer-updates');
const groupId = uniqueName('writer-group');

let injector: MongoFaultInjector;
let proxy: KafkaProxy;
let kafka: KafkaClient;
let producerClient: KafkaClient;
let writerProducer: MessageProducer;
let input: MessageProducer;
let writerStore: MongoStore;
let store: MongoStore;
let writer: Awaited<ReturnType<typeof buildWriter>>;
/** Builds and starts the writer as the service does (a restart: a new process knows none of the sends). */
let startWriter: () => Promise<void>;
let deadLetters: TopicCollector;
let scanner: TopicScanner;
const startedAt = Date.now();

beforeAll(async () => {
  const mongoHost = new URL(stack.mongoUrl).host;
  injector = await MongoFaultInjector.start({ upstream: mongoHost });
  proxy = await KafkaProxy.start(stack.kafkaBrokers[0]!);
  kafka = new KafkaClient({ clientId: 'writer-int-test', brokers: stack.kafkaBrokers, logger });
  producerClient = new KafkaClient({ clientId: 'writer-int-test-out', brokers: [proxy.address], logger });
  const config = loadWriterConfig({
    ...devEnv(),
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    MONGO_URL: injector.url(),
    KAFKA_GROUP_ID: groupId,
    WRITER_ROLE: 'consumer',
    LOG_LEVEL: 'silent',
  });
  // The service's topics as it makes them (present already under npm test), and the test's own input.
  await kafka.ensureTopics([...TOPICS_OWNED(config.KAFKA_TOPIC_PARTITIONS), { topic, partitions: 1 }]);
  input = await kafka.producer();
  writerProducer = await producerClient.producer();
  store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'writer-int-test' });
  writerStore = await MongoStore.connect({ url: injector.url(), logger, appName: APP_NAME });
  deadLetters = await collectTopic(stack.kafkaBrokers, Topics.deadLetters);
  scanner = new TopicScanner(kafka, Topics.entitiesProcessed, logger);
  startWriter = async () => {
    writer = await buildWriter(config, {
      logger,
      kafka,
      mongo: writerStore,
      producer: writerProducer,
      onFatal: (err) => {
        throw err;
      },
      updatesTopic: topic,
    });
    await writer.start();
  };
  await startWriter();
}, 90_000);

afterAll(async () => {
  await writer?.stopConsuming();
  await scanner?.stop();
  await deadLetters?.stop();
  await input?.close();
  await writerProducer?.close();
  await writerStore?.close();
  await store?.close();
  await proxy?.close();
  await injector?.close();
});

/** One entity update of a contact, as the mapper writes it. */
function contact(
  org: string,
  customer: string,
  attributes: Record<string, unknown> = {},
  mode: EntityUpdateMessage['mode'] = 'upsert',
): EntityUpdateMessage {
  const eventId = randomUUID();
  return {
    schema_version: 1,
    kind: 'entity',
    update_id: `${eventId}:0`,
    org_id: org,
    integration_id: 'integration-1',
    use_case_id: 'use-case-1',
    event_id: eventId,
    correlation_id: randomUUID(),
    entity_schema: 'contact',
    mode,
    unique_ids: { customer_number: customer },
    attributes: { customer_number: customer, ...attributes },
  };
}

/** The group's committed offset of the test's topic (-1: nothing committed). */
async function committed(): Promise<number> {
  const admin = await kafka.admin();
  try {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(result?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

let sentSoFar = 0;
/** Sends the updates in one produce request (so they come as one batch); resolves with the offset after them. */
async function send(...updates: Array<EntityUpdateMessage | PruneScopeUpdateMessage>): Promise<number> {
  const keyOf = (u: EntityUpdateMessage | PruneScopeUpdateMessage) =>
    u.kind === 'prune_scope' ? `${u.org_id}|${u.entity_schema}` : String(u.unique_ids.customer_number);
  await input.send(updates.map((u) => ({ topic, key: keyOf(u), value: u })));
  sentSoFar += updates.length;
  return sentSoFar;
}

/** Waits until the writer committed everything up to `offset` (its messages are on the topics by then). */
const committedUpTo = (offset: number, timeoutMs = 60_000) =>
  eventually(
    async () => ((await committed()) >= offset ? true : undefined),
    timeoutMs,
    `offset ${offset} committed`,
  );

/** The stored contact, deleted or not (straight from FerretDB). */
const stored = (org: string, customer: string) =>
  store
    .collection<EntityDoc>('entities')
    .findOne({ _org: org, _schema: 'contact', customer_number: customer });

/**
 * Every processed message of the organisation's entities, read from the topic up to its end now: after
 * `committedUpTo`, everything the writer sent is there.
 */
async function processed(org: string, entityIds: string[]): Promise<ProcessedEntityMessage[]> {
  const out: ProcessedEntityMessage[] = [];
  await scanner.scan({
    sinceMs: startedAt - 60_000,
    keys: entityIds,
    visit: (m) => {
      if (!m.value) return;
      const value = JSON.parse(m.value.toString('utf8')) as ProcessedEntityMessage;
      if (value.org_id === org) out.push(value);
    },
  });
  return out;
}

const changeIds = (messages: ProcessedEntityMessage[]) => messages.map((m) => m.meta.change_id);
/** Dead letters of the organisation's updates (their original message names it). */
const deadLettersOf = (org: string) => deadLetters.values((v) => JSON.stringify(v).includes(org));
/** The change ids an entity recorded (`_hub.applied`: `<c|u|d><ms> <id>` per line). */
const appliedIds = (doc: EntityDoc | null) =>
  (doc ? appliedChanges(doc) : []).map((c) => c.slice(c.indexOf(' ') + 1));

/** The change ids of the messages an entity's outbox holds (`_hub.outbox`). */
const outboxIds = (doc: EntityDoc | null) => (doc ? outboxOf(doc) : []).map((m) => m.meta.change_id);

/** Waits until the writer's sends have failed for good at least once: a later send is being dropped too. */
async function untilASendFailed(before: number): Promise<void> {
  // kafkajs tries a send 6 times (5 retries); a 7th dropped request belongs to the batch's next attempt.
  await eventually(
    async () => (proxy.counts.droppedRequests - before >= 7 ? true : undefined),
    90_000,
    'a send failed for good and the batch was retried',
  );
}

describe('a processed message lost between the database write and the produce', () => {
  it('is sent by the redelivery, once, and the entity is changed once', async () => {
    const org = uniqueName('lost-produce');
    const created = contact(org, 'C1', { name: 'first' });
    const dropped = proxy.counts.droppedRequests;
    proxy.dropProduceRequests();
    const offset = await send(created);
    try {
      await untilASendFailed(dropped);
      // The database was written before the send: the entity is there, its message is not.
      const doc = await stored(org, 'C1');
      expect(doc?.name).toBe('first');
      expect(await committed()).toBeLessThan(offset);
    } finally {
      proxy.heal();
    }
    await committedUpTo(offset);
    const doc = await stored(org, 'C1');
    expect(appliedIds(doc)).toEqual([created.update_id]);
    expect(doc?._hub.version).toBe(1);
    const messages = await processed(org, [doc!._id]);
    expect(changeIds(messages)).toEqual([created.update_id]);
    expect(messages[0]).toMatchObject({ action: 'created', entity: { name: 'first' } });
    expect(deadLettersOf(org)).toEqual([]);
  }, 180_000);

  it('is not sent again when the broker wrote it and only the answer was lost', async () => {
    const org = uniqueName('lost-answer');
    const created = contact(org, 'C1', { name: 'first' });
    const lostBefore = proxy.counts.lostAnswers;
    proxy.loseProduceAnswers();
    const offset = await send(created);
    try {
      // Every attempt of the first send was written and its answer lost; the next attempt of the batch too.
      await eventually(
        async () => (proxy.counts.lostAnswers - lostBefore >= 7 ? true : undefined),
        90_000,
        'a send failed for good and the batch was retried',
      );
    } finally {
      proxy.heal();
    }
    await committedUpTo(offset);
    const doc = await stored(org, 'C1');
    expect(appliedIds(doc)).toEqual([created.update_id]);
    // The redelivery found the message on the topic and did not send it again.
    expect(changeIds(await processed(org, [doc!._id]))).toEqual([created.update_id]);
  }, 180_000);
});

describe('a purge whose delivery died after its write', () => {
  it('is finished by the redelivery: the entity is removed and its deleted message sent once', async () => {
    const org = uniqueName('purge-redelivered');
    const created = contact(org, 'P1', { name: 'to purge' });
    await committedUpTo(await send(created));
    const id = (await stored(org, 'P1'))!._id;

    const purge = contact(org, 'P1', {}, 'purge');
    const dropped = proxy.counts.droppedRequests;
    proxy.dropProduceRequests();
    const offset = await send(purge);
    try {
      await untilASendFailed(dropped);
      // Written as deleted and about to be purged; the purge waits for the message.
      expect(await stored(org, 'P1')).toMatchObject({ _hub: { purging: true } });
    } finally {
      proxy.heal();
    }
    await committedUpTo(offset);
    expect(await stored(org, 'P1')).toBeNull();
    const messages = await processed(org, [id]);
    expect(messages.map((m) => `${m.action}:${m.meta.change_id}`)).toEqual([
      `created:${created.update_id}`,
      `deleted:${purge.update_id}`,
    ]);
  }, 180_000);
});

describe('deleting what is not there', () => {
  it('answers nothing_to_delete for a missing or already deleted entity, and purges a soft-deleted one', async () => {
    const org = uniqueName('nothing-to-delete');
    const missing = contact(org, 'NOBODY', {}, 'delete');
    const created = contact(org, 'D1', { name: 'soon deleted' });
    const deleted = contact(org, 'D1', {}, 'delete');
    await committedUpTo(await send(missing, created, deleted));
    const id = (await stored(org, 'D1'))!._id;
    expect(await stored(org, 'NOBODY')).toBeNull();

    // Deleted again (another event): nothing to do, no second message.
    const again = contact(org, 'D1', {}, 'delete');
    await committedUpTo(await send(again));
    const soft = await stored(org, 'D1');
    expect(soft?._deleted_at).toBeDefined();
    expect(appliedIds(soft)).toEqual([created.update_id, deleted.update_id]);

    // A purge of the soft-deleted entity removes it, and says so.
    const purge = contact(org, 'D1', {}, 'purge');
    await committedUpTo(await send(purge));
    expect(await stored(org, 'D1')).toBeNull();

    const messages = await processed(org, [id]);
    expect(messages.map((m) => `${m.action}:${m.meta.change_id}`)).toEqual([
      `created:${created.update_id}`,
      `deleted:${deleted.update_id}`,
      `deleted:${purge.update_id}`,
    ]);
    expect(deadLettersOf(org)).toEqual([]);
  }, 120_000);
});

describe('two writes racing for one entity', () => {
  it('retries the batch that lost the compare-and-set, so neither change is lost', async () => {
    const org = uniqueName('write-conflict');
    const created = contact(org, 'W1', { name: 'first' });
    await committedUpTo(await send(created));
    const id = (await stored(org, 'W1'))!._id;

    // The writer's replace of the entity is held 5 s (ample on a loaded machine); meanwhile another
    // write changes the entity.
    injector.failCommand({
      mode: { times: 1 },
      data: {
        failCommands: ['update'],
        collection: 'entities',
        appName: APP_NAME,
        blockConnection: true,
        blockTimeMS: 5_000,
      },
    });
    const renamed = contact(org, 'W1', { name: 'second' });
    const offset = await send(renamed);
    try {
      await eventually(
        async () => (injector.failPointEntered >= 1 ? true : undefined),
        30_000,
        'the replace held',
      );
      // As another writer would: a new version of the entity (the compare-and-set field).
      const other = await store
        .collection<{ _id: string; _org: string }>('entities')
        .updateOne({ _id: id, _org: org }, { $set: { phone: '+49 30 1234' }, $inc: { '_hub.version': 1 } });
      expect(other.modifiedCount).toBe(1);
    } finally {
      injector.reset();
    }
    await committedUpTo(offset);
    const doc = await stored(org, 'W1');
    expect(doc).toMatchObject({ name: 'second', phone: '+49 30 1234' });
    expect(appliedIds(doc)).toEqual([created.update_id, renamed.update_id]);
    const messages = await processed(org, [id]);
    expect(changeIds(messages)).toEqual([created.update_id, renamed.update_id]);
    expect(messages[1]).toMatchObject({
      action: 'updated',
      entity: { name: 'second', phone: '+49 30 1234' },
    });
    expect(deadLettersOf(org)).toEqual([]);
  }, 120_000);
});

describe('a database error in the middle of a batch', () => {
  it('fails the whole batch, which is retried: every change applied and published once, nothing dead-lettered', async () => {
    const org = uniqueName('batch-error');
    const first = contact(org, 'B0', { name: 'before' });
    await committedUpTo(await send(first));

    // One batch: a change of B0 (a replace) and two new contacts (one insert), whose insert fails once.
    injector.failCommand({
      mode: { times: 1 },
      data: { failCommands: ['insert'], collection: 'entities', appName: APP_NAME, errorCode: 1 },
    });
    const changed = contact(org, 'B0', { name: 'after' });
    const b1 = contact(org, 'B1', { name: 'one' });
    const b2 = contact(org, 'B2', { name: 'two' });
    const offset = await send(changed, b1, b2);
    await committedUpTo(offset);
    expect(injector.failPointEntered).toBe(1);
    injector.reset();

    const docs = await Promise.all(['B0', 'B1', 'B2'].map((c) => stored(org, c)));
    expect(docs.map((d) => d?.name)).toEqual(['after', 'one', 'two']);
    expect(appliedIds(docs[0]!)).toEqual([first.update_id, changed.update_id]);
    expect(appliedIds(docs[1]!)).toEqual([b1.update_id]);
    expect(appliedIds(docs[2]!)).toEqual([b2.update_id]);
    const messages = await processed(
      org,
      docs.map((d) => d!._id),
    );
    expect(changeIds(messages).sort()).toEqual(
      [first.update_id, changed.update_id, b1.update_id, b2.update_id].sort(),
    );
    expect(deadLettersOf(org)).toEqual([]);
  }, 120_000);
});

describe('a database error in an update applied on its own (a prune scope) within a batch', () => {
  it('fails the whole batch, which is retried: the prune and the updates around it applied once, nothing dead-lettered', async () => {
    const org = uniqueName('prune-error');
    const kept = contact(org, 'K1', { group: 'G' });
    const gone = contact(org, 'X1', { group: 'G' });
    await committedUpTo(await send(kept, gone));
    const goneId = (await stored(org, 'X1'))!._id;

    // The prune scope's first read (has this prune run already?) fails once.
    injector.failCommand({
      mode: { times: 1 },
      data: { failCommands: ['find'], collection: 'writer_prune_runs', appName: APP_NAME, errorCode: 1 },
    });
    const eventId = randomUUID();
    const prune: PruneScopeUpdateMessage = {
      schema_version: 1,
      kind: 'prune_scope',
      update_id: `${eventId}:prune:0`,
      org_id: org,
      integration_id: 'integration-1',
      use_case_id: 'use-case-1',
      event_id: eventId,
      correlation_id: randomUUID(),
      entity_schema: 'contact',
      scope: { scope_mode: 'query', query: { group: 'G' } },
      keep_unique_ids: [{ customer_number: 'K1' }],
      deletion_mode: 'delete',
    };
    const before = contact(org, 'Y1', { name: 'before the prune' });
    const after = contact(org, 'Y2', { name: 'after the prune' });
    const offset = await send(before, prune, after);
    await committedUpTo(offset);
    expect(injector.failPointEntered).toBe(1);
    injector.reset();

    expect((await stored(org, 'X1'))?._deleted_at).toBeDefined();
    expect((await stored(org, 'K1'))?._deleted_at).toBeUndefined();
    expect(appliedIds(await stored(org, 'Y1'))).toEqual([before.update_id]);
    expect(appliedIds(await stored(org, 'Y2'))).toEqual([after.update_id]);
    const deletions = (await processed(org, [goneId])).filter((m) => m.action === 'deleted');
    expect(deletions).toHaveLength(1);
    expect(deadLettersOf(org)).toEqual([]);
  }, 120_000);
});

describe('many changes of one entity in one batch', () => {
  it('are one write, and a redelivery after a lost produce recognises all 100: each applied and published once', async () => {
    const org = uniqueName('hot-entity');
    const created = contact(org, 'H1', { name: 'v0' });
    await committedUpTo(await send(created));
    const changes = Array.from({ length: 100 }, (_, i) => contact(org, 'H1', { name: `v${i + 1}` }));
    const dropped = proxy.counts.droppedRequests;
    proxy.dropProduceRequests();
    const offset = await send(...changes);
    try {
      await untilASendFailed(dropped);
      // All 100 were applied in memory and written at once (version 1 → 2) before the send that failed.
      expect((await stored(org, 'H1'))?._hub.version).toBe(2);
    } finally {
      proxy.heal();
    }
    await committedUpTo(offset);
    const doc = await stored(org, 'H1');
    expect(doc?.name).toBe('v100');
    // The redelivery found every change applied: no second write.
    expect(doc?._hub.version).toBe(2);
    expect(appliedIds(doc)).toEqual(changes.map((c) => c.update_id));
    const ids = changeIds(await processed(org, [doc!._id]));
    expect(ids.sort()).toEqual([created, ...changes].map((c) => c.update_id).sort());
    expect(deadLettersOf(org)).toEqual([]);
  }, 180_000);

  it('one update twice in a batch, redelivered after a lost produce: its change published once', async () => {
    // The mapper redelivers what it produced before its commit failed (a broker restart): the writer's
    // redelivery can hold one update twice. The chaos run (seed 437660) published such changes twice,
    // both in one send.
    const org = uniqueName('twice-in-batch');
    const created = contact(org, 'T1', { name: 'v0' });
    await committedUpTo(await send(created));
    const change = contact(org, 'T1', { name: 'v1' });
    const dropped = proxy.counts.droppedRequests;
    proxy.dropProduceRequests();
    const offset = await send(change, change, contact(org, 'T2', { name: 'other' }), change);
    try {
      await untilASendFailed(dropped);
      // The write is done, its send lost. A new writer gets the batch whole (this one would retry it
      // message by message once its batch attempts are spent).
      await writer.stopConsuming();
    } finally {
      proxy.heal();
    }
    await startWriter();
    await committedUpTo(offset);
    const doc = await stored(org, 'T1');
    expect(doc?.name).toBe('v1');
    const ids = changeIds(await processed(org, [doc!._id]));
    expect(ids.sort()).toEqual([created.update_id, change.update_id].sort());
    expect(deadLettersOf(org)).toEqual([]);
  }, 180_000);

  it('of a large entity are split so that one write never carries more than 4 MiB of its processed messages', async () => {
    const org = uniqueName('large-entity');
    // About 500 KB: each processed message carries the entity, so 8 of them fit the 4 MiB outbox budget.
    const created = contact(org, 'L1', { name: 'v0', notes: 'x'.repeat(500_000) });
    await committedUpTo(await send(created));
    const changes = Array.from({ length: 12 }, (_, i) => contact(org, 'L1', { name: `v${i + 1}` }));
    await committedUpTo(await send(...changes));
    const doc = await stored(org, 'L1');
    expect(doc?.name).toBe('v12');
    expect(doc?._hub.version).toBe(3); // created, then 8 changes, then 4
    const ids = changeIds(await processed(org, [doc!._id]));
    expect(ids.sort()).toEqual([created, ...changes].map((c) => c.update_id).sort());
    expect(deadLettersOf(org)).toEqual([]);
  }, 180_000);
});

describe('an entity written after the writer restarted', () => {
  it('drops its outbox’s messages from before the restart: they are behind the update in its partition', async () => {
    const org = uniqueName('restarted');
    const before = Array.from({ length: 5 }, (_, i) => contact(org, 'R1', { name: `v${i}` }));
    await committedUpTo(await send(...before));
    // One write of five changes: its outbox holds their five messages, each (but the last) with the entity.
    expect(outboxIds(await stored(org, 'R1'))).toEqual(before.map((u) => u.update_id));

    // A new process has sent nothing: only the update's offset says those five were sent (or committed).
    await writer.stopConsuming();
    await startWriter();
    const after = contact(org, 'R1', { name: 'after' });
    await committedUpTo(await send(after));
    const doc = await stored(org, 'R1');
    expect(doc?.name).toBe('after');
    expect(outboxIds(doc)).toEqual([after.update_id]);
    // Every change still published once, and the redelivery check still finds the applied ones.
    expect(appliedIds(doc)).toEqual([...before, after].map((u) => u.update_id));
    const ids = changeIds(await processed(org, [doc!._id]));
    expect(ids.sort()).toEqual([...before, after].map((u) => u.update_id).sort());
  }, 180_000);
});
