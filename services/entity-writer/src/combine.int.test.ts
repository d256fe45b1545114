/**
 * The partitions' chunks of one fetch applied in one call (combine.ts), on the real broker and the real
 * database: the writer is built as the service builds it (`buildWriter`, its default `WRITER_CONCURRENCY`)
 * on a topic of six partitions of its own, its database client behind the MongoFaultInjector, which counts
 * the writer's commands on `entities`. Checked: every entity as its last update left it (per-key order),
 * every change's processed message once, and the database commands a fetch of six partitions cost.
 */
import { randomUUID } from 'node:crypto';
import { type EntityUpdateMessage, type ProcessedEntityMessage, Topics } from '@hub/contracts';
import { KafkaClient, type MessageProducer, TopicScanner } from '@hub/kafka';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { devEnv, eventually, MongoFaultInjector, resolveStack, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWriter, TOPICS_OWNED } from './app.js';
import { loadWriterConfig } from './config.js';
import type { EntityDoc } from './repository.js';

const stack = resolveStack();
const logger = createLogger({ service: 'writer-combine-test', level: 'silent' });
const APP_NAME = 'writer-combine-under-test';
const PARTITIONS = 6;
const topic = uniqueName('writer-combine-updates');
const groupId = uniqueName('writer-combine-group');
const startedAt = Date.now();

let injector: MongoFaultInjector;
let kafka: KafkaClient;
let input: MessageProducer;
let writerProducer: MessageProducer;
let writerStore: MongoStore;
let store: MongoStore;
let scanner: TopicScanner;
let writer: Awaited<ReturnType<typeof buildWriter>> | undefined;
/** The writer's commands on `entities`, by name (find, insert, update). */
const commands = new Map<string, number>();

beforeAll(async () => {
  injector = await MongoFaultInjector.start({ upstream: new URL(stack.mongoUrl).host });
  injector.onCommand = (seen) => {
    if (seen.appName === APP_NAME && seen.collection === 'entities')
      commands.set(seen.command, (commands.get(seen.command) ?? 0) + 1);
  };
  kafka = new KafkaClient({ clientId: 'writer-combine-test', brokers: stack.kafkaBrokers, logger });
  await kafka.ensureTopics([...TOPICS_OWNED(PARTITIONS), { topic, partitions: PARTITIONS }]);
  input = await kafka.producer();
  writerProducer = await kafka.producer();
  store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'writer-combine-test' });
  writerStore = await MongoStore.connect({ url: injector.url(), logger, appName: APP_NAME });
  scanner = new TopicScanner(kafka, Topics.entitiesProcessed, logger);
}, 90_000);

afterAll(async () => {
  await writer?.stopConsuming();
  await scanner?.stop();
  await input?.close();
  await writerProducer?.close();
  await writerStore?.close();
  await store?.close();
  await injector?.close();
});

function contact(org: string, customer: string, name: string): EntityUpdateMessage {
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
    mode: 'upsert',
    unique_ids: { customer_number: customer },
    attributes: { customer_number: customer, name },
  };
}

/** Per partition of the topic: the group's committed offset and the end of the partition. */
async function offsets(): Promise<Array<{ partition: number; committed: number; end: number }>> {
  const admin = await kafka.admin();
  try {
    const [group] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    return ends.map((e) => ({
      partition: e.partition,
      end: Number(e.offset),
      committed: Number(group?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1),
    }));
  } finally {
    await admin.disconnect();
  }
}

describe("a fetch of several partitions' updates", () => {
  it('is applied in one call: every entity as its last update left it, every change sent once, one write for all', async () => {
    const org = uniqueName('combined');
    const customers = Array.from({ length: 36 }, (_, i) => `C${i}`);
    const first = customers.map((c) => contact(org, c, 'first'));
    const second = customers.map((c) => contact(org, c, 'second'));
    // Everything is on the topic before the writer starts: its first fetch holds every partition's chunk.
    await input.send(
      [...first, ...second].map((u) => ({ topic, key: String(u.unique_ids.customer_number), value: u })),
    );
    const holding = (await offsets()).filter((p) => p.end > 0).length;
    expect(holding).toBeGreaterThanOrEqual(4); // 36 keys over 6 partitions

    const config = loadWriterConfig({
      ...devEnv(),
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      MONGO_URL: injector.url(),
      KAFKA_GROUP_ID: groupId,
      WRITER_ROLE: 'consumer',
      LOG_LEVEL: 'silent',
    });
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
    await eventually(
      async () => ((await offsets()).every((p) => p.committed >= p.end) ? true : undefined),
      60_000,
      'every partition committed',
    );

    // Per key, the updates in their order: each entity holds the second name, created then updated.
    const docs = await store.collection<EntityDoc>('entities').find({ _org: org }).toArray();
    expect(docs).toHaveLength(customers.length);
    for (const doc of docs) expect(doc.name).toBe('second');

    // Each change's processed message once.
    const sent: ProcessedEntityMessage[] = [];
    await scanner.scan({
      sinceMs: startedAt - 60_000,
      keys: docs.map((d) => d._id),
      visit: (m) => {
        if (!m.value) return;
        const value = JSON.parse(m.value.toString('utf8')) as ProcessedEntityMessage;
        if (value.org_id === org) sent.push(value);
      },
    });
    const ids = sent.map((m) => m.meta.change_id).sort();
    expect(ids).toEqual([...first, ...second].map((u) => u.update_id).sort());

    // The fetch's chunks were one call: one insert of the new entities, not one per partition (a chunk
    // per partition call made `holding` inserts). The first fetch may miss a partition now and then, so
    // up to two calls are allowed; a partition per call would be at least four.
    expect(commands.get('insert') ?? 0).toBeLessThanOrEqual(2);
    expect(commands.get('find') ?? 0).toBeLessThanOrEqual(2);
  }, 90_000);
});
