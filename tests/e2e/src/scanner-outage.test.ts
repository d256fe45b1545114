/**
 * The entity-writer's recovery check ("is this change already on the processed topic?") scans with one
 * long-lived `TopicScanner`. After the broker restarted, kafkajs restarts (or ends) the scanner's
 * consumer, and a scan must still see every record of its range, and finish: the chaos run (seed 437660,
 * 2026-12) saw a scan hang for its whole 60 s after a broker restart, holding a partition and the group's
 * rebalance, and an ordered shutdown time out behind it.
 */
import { KafkaClient, TopicScanner } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { KafkaProxy, resolveStack, uniqueName } from '@hub/testing';

type Consumer = ReturnType<KafkaClient['kafka']['consumer']>;

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'scanner-outage', level: process.env.TEST_LOG_LEVEL ?? 'fatal' });
const direct = new KafkaClient({ clientId: 'scanner-outage-direct', brokers: stack.kafkaBrokers, logger });
let proxy: KafkaProxy;

beforeAll(async () => {
  proxy = await KafkaProxy.start(stack.kafkaBrokers[0]!);
});
afterAll(async () => {
  await proxy?.close();
});

async function send(topic: string, values: number[]): Promise<void> {
  const producer = await direct.producer();
  try {
    await producer.send(values.map((n) => ({ topic, key: `k${n % 7}`, value: { n } })));
  } finally {
    await producer.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The distinct values of the records a scan from `since` visits, in order. */
async function scanned(scanner: TopicScanner, since: number): Promise<number[]> {
  const seen = new Set<number>();
  await scanner.scan({
    sinceMs: since,
    timeoutMs: 45_000,
    visit: (m) => seen.add(JSON.parse(m.value!.toString()).n),
  });
  return [...seen].sort((a, b) => a - b);
}

async function dropTopic(topic: string): Promise<void> {
  const admin = await direct.admin();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
}

describe('a long-lived scanner across a broker outage', () => {
  it.each([
    ['refused connections', () => proxy.outage()],
    ['cut coordinator lookups', () => proxy.coordinatorOutage()],
  ])(
    'after %s, a scan sees every record of its range and finishes',
    async (_name, fault) => {
      const topic = uniqueName('scan-outage');
      await direct.ensureTopics([{ topic, partitions: 3 }]);
      const via = new KafkaClient({ clientId: 'scanner-outage', brokers: [proxy.address], logger });
      const scanner = new TopicScanner(via, topic, logger);
      try {
        const since = Date.now() - 1_000;
        await send(topic, [0, 1, 2, 3, 4, 5]);
        const first: number[] = [];
        await scanner.scan({ sinceMs: since, visit: (m) => first.push(JSON.parse(m.value!.toString()).n) });
        expect(first.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);

        // Long enough for kafkajs to give up on the scanner's consumer (its session is 30 s; its
        // retries end sooner), while records keep arriving.
        fault();
        for (let i = 0; i < 4; i++) {
          await sleep(5_000);
          await send(topic, [10 + i * 3, 11 + i * 3, 12 + i * 3]);
        }
        proxy.heal();
        await sleep(3_000);
        await send(topic, [100, 101, 102]);

        const expected = [0, 1, 2, 3, 4, 5, ...Array.from({ length: 12 }, (_, i) => 10 + i), 100, 101, 102];
        expect(await scanned(scanner, since)).toEqual(expected);
      } finally {
        proxy.heal();
        await scanner.stop();
        await dropTopic(topic);
      }
    },
    150_000,
  );

  it('a scan whose partitions sit with another member of its group replaces its consumer and finishes whole', async () => {
    // What a broker restart can leave: kafkajs restarts the crashed consumer as a new member, and the
    // group gives partitions to the old member until its session expires. Here a second member joins
    // the scanner's group on purpose, and keeps its share of the partitions.
    const topic = uniqueName('scan-ghost');
    await direct.ensureTopics([{ topic, partitions: 3 }]);
    const clientId = uniqueName('scanner-ghost');
    const client = new KafkaClient({ clientId, brokers: stack.kafkaBrokers, logger });
    const scanner = new TopicScanner(client, topic, logger);
    const ghost = { consumer: undefined as Consumer | undefined };
    try {
      const since = Date.now() - 1_000;
      await send(topic, [0, 1, 2, 3, 4, 5, 6]);
      await scanner.scan({ sinceMs: since, visit: () => undefined });
      const admin = await direct.admin();
      const { groups } = await admin.listGroups();
      await admin.disconnect();
      const groupId = groups.find((g) => g.groupId.startsWith(`${clientId}-scanner-`))?.groupId;
      expect(groupId).toBeDefined();
      const consumer = direct.kafka.consumer({ groupId: groupId!, sessionTimeout: 30_000 });
      ghost.consumer = consumer;
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: false });
      await consumer.run({ eachMessage: async () => undefined });
      consumer.pause([{ topic }]);
      await joined;
      await sleep(2_000); // the scanner's consumer rejoins with its share

      await send(topic, [7, 8, 9]);
      expect(await scanned(scanner, since)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await ghost.consumer?.disconnect().catch(() => undefined);
      await scanner.stop();
      await dropTopic(topic);
    }
  }, 120_000);

  it('a scan under way when the scanner stops fails at once', async () => {
    const topic = uniqueName('scan-stop');
    await direct.ensureTopics([{ topic, partitions: 1 }]);
    const scanner = new TopicScanner(direct, topic, logger);
    await send(topic, [0, 1, 2]);
    // Stopped while the scan joins its group or reads: it fails rather than wait for its limit.
    const scan = scanner.scan({ sinceMs: Date.now() - 60_000, visit: () => undefined });
    await scanner.stop();
    await expect(scan).rejects.toThrow(/stopp/);
    await expect(scanner.scan({ sinceMs: 0, visit: () => undefined })).rejects.toThrow(/stopped/);
    await dropTopic(topic);
  }, 60_000);
});
