/**
 * Recovery paths of the consumer loop (libs/kafka/src/consumer.ts) on the real broker, read where a user
 * would notice them: the group's committed offset (what a restarted or new member starts from).
 */
import { ConsumerRunner, type IncomingMessage, KafkaClient, PermanentError } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { eventually, resolveStack, uniqueName } from '@hub/testing';
import { afterAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'consumer-recovery', level: 'fatal' });
const client = new KafkaClient({ clientId: 'consumer-recovery', brokers: stack.kafkaBrokers, logger });
const running = new Set<ConsumerRunner>();
afterAll(async () => {
  for (const runner of running) await runner.stop().catch(() => undefined);
});

/** The group's committed offset of partition 0 (-1: nothing committed). */
async function committed(groupId: string, topic: string): Promise<number> {
  const admin = await client.admin();
  try {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(result?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

async function topicWith(prefix: string, keys: string[]): Promise<string> {
  const topic = uniqueName(prefix);
  await client.ensureTopics([{ topic, partitions: 1 }]);
  const producer = await client.producer();
  try {
    await producer.send(keys.map((key) => ({ topic, key, value: { key } })));
  } finally {
    await producer.close();
  }
  return topic;
}

function runner(
  groupId: string,
  topic: string,
  settings: Partial<ConstructorParameters<typeof ConsumerRunner>[1]>,
): ConsumerRunner {
  const r = new ConsumerRunner(client, {
    groupId,
    topics: [topic],
    logger,
    handler: async () => undefined,
    onPermanentFailure: async () => undefined,
    onFatal: () => undefined,
    ...settings,
  });
  running.add(r);
  return r;
}

describe('a dead letter that cannot be recorded', () => {
  it('is retried and never committed, survives a stop during the backoff, and is recorded by the next member', async () => {
    const topic = await topicWith('unrecorded', ['poison', 'next']);
    const groupId = uniqueName('unrecorded-group');
    const handled: string[] = [];
    const handler = async (message: IncomingMessage) => {
      if (message.key === 'poison') throw new PermanentError('BAD', 'validation', 'never succeeds');
      handled.push(message.key!);
    };
    let recordingAttempts = 0;
    const first = runner(groupId, topic, {
      handler,
      retry: { initialMs: 300, maxMs: 5_000 },
      onPermanentFailure: async () => {
        recordingAttempts++;
        throw new Error('the dead-letter topic is not writable');
      },
    });
    await first.start();
    await eventually(
      async () => (recordingAttempts >= 3 ? true : undefined),
      30_000,
      'three recording attempts',
    );
    // The partition waits on the unrecorded failure: nothing behind it handled, nothing committed.
    expect(handled).toEqual([]);
    expect(await committed(groupId, topic)).toBe(-1);

    // Stopped while it waits before the next attempt (the backoff is seconds long by now).
    await first.stop();
    running.delete(first);
    expect(await committed(groupId, topic)).toBe(-1);

    const recorded: string[] = [];
    const second = runner(groupId, topic, {
      handler,
      onPermanentFailure: async (message, error) => {
        recorded.push(`${message.key}:${error.code}`);
      },
    });
    await second.start();
    await eventually(
      async () => ((await committed(groupId, topic)) === 2 ? true : undefined),
      30_000,
      'offset 2',
    );
    expect(recorded).toEqual(['poison:BAD']);
    expect(handled).toEqual(['next']);
  }, 90_000);
});

describe('a batch handler that returns a count outside 1..n', () => {
  it.each([0, 7])(
    'handles the chunk one message at a time when it returns %d',
    async (taken) => {
      const keys = ['a', 'b', 'c'];
      const topic = await topicWith('taken', keys);
      const groupId = uniqueName('taken-group');
      const oneByOne: string[] = [];
      const r = runner(groupId, topic, {
        batchHandler: async () => taken,
        handler: async (message) => {
          oneByOne.push(message.key!);
        },
      });
      await r.start();
      await eventually(
        async () => ((await committed(groupId, topic)) === 3 ? true : undefined),
        30_000,
        'offset 3',
      );
      // Committed only after each message was handled: none skipped on the handler's word.
      expect(oneByOne).toEqual(keys);
    },
    60_000,
  );
});
