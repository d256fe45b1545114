/**
 * Recovery paths of the consumer loop (libs/kafka/src/consumer.ts) on the real broker, read where a user
 * would notice them: the group's committed offset (what a restarted or new member starts from).
 */
import { ConsumerRunner, type IncomingMessage, KafkaClient, PermanentError } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { eventually, KafkaProxy, resolveStack, uniqueName } from '@hub/testing';
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
  await append(topic, keys);
  return topic;
}

/** Writes messages keyed `keys` to partition 0 of `topic` (straight to the broker). */
async function append(topic: string, keys: string[]): Promise<void> {
  const producer = await client.producer();
  try {
    await producer.send(keys.map((key) => ({ topic, key, value: { key } })));
  } finally {
    await producer.close();
  }
}

function runner(
  groupId: string,
  topic: string,
  settings: Partial<ConstructorParameters<typeof ConsumerRunner>[1]>,
  via: KafkaClient = client,
): ConsumerRunner {
  const r = new ConsumerRunner(via, {
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

/** A logger whose lines the test can wait for (the consumer's crash is only visible there). */
function recordingLogger() {
  const lines: string[] = [];
  const log = createLogger(
    { service: 'consumer-recovery', level: 'warn' },
    { write: (line: string) => void lines.push(line) },
  );
  return { log, saw: (text: string) => lines.some((l) => l.includes(text)) };
}

describe('a consumer that crashes because the broker is unreachable', () => {
  // The member reaches the broker through a proxy; closing the proxy is the outage (the broker stays up,
  // so the test can read the group's offsets and write more messages meanwhile).
  async function outage() {
    const proxy = await KafkaProxy.start(stack.kafkaBrokers[0]!);
    const via = new KafkaClient({ clientId: 'consumer-crash', brokers: [proxy.address], logger });
    return { proxy, via };
  }

  it('restarts itself within the restart window and goes on from the last committed offset', async () => {
    const topic = await topicWith('crash-restart', ['a', 'b']);
    const groupId = uniqueName('crash-restart-group');
    let { proxy, via } = await outage();
    const port = proxy.port;
    const handled: string[] = [];
    const fatal: unknown[] = [];
    const { log, saw } = recordingLogger();
    const r = runner(
      groupId,
      topic,
      {
        logger: log,
        handler: async (message) => {
          handled.push(message.key!);
        },
        onFatal: (err) => void fatal.push(err),
      },
      via,
    );
    await r.start();
    await eventually(
      async () => ((await committed(groupId, topic)) === 2 ? true : undefined),
      30_000,
      'offset 2',
    );

    await proxy.close();
    await eventually(async () => (saw('kafkajs restarts it') ? true : undefined), 120_000, 'the crash');
    // Meanwhile more messages come; nothing was committed past what was handled.
    await append(topic, ['c', 'd']);
    expect(await committed(groupId, topic)).toBe(2);
    proxy = await KafkaProxy.start(stack.kafkaBrokers[0]!, port);
    try {
      await eventually(
        async () => ((await committed(groupId, topic)) === 4 ? true : undefined),
        120_000,
        'offset 4 after the restart',
      );
      expect(handled).toEqual(['a', 'b', 'c', 'd']);
      expect(fatal).toEqual([]);
    } finally {
      await r.stop();
      running.delete(r);
      await proxy.close();
    }
  }, 300_000);

  it('reports a crash past the restart window to onFatal, and the next member goes on from the committed offset', async () => {
    const topic = await topicWith('crash-fatal', ['a', 'b']);
    const groupId = uniqueName('crash-fatal-group');
    const { proxy, via } = await outage();
    const handled: string[] = [];
    const fatal: unknown[] = [];
    const first = runner(
      groupId,
      topic,
      {
        handler: async (message) => {
          handled.push(message.key!);
        },
        // No progress for 1 s is past the window: the first crash is final.
        restartWindowMs: 1_000,
        onFatal: (err) => void fatal.push(err),
      },
      via,
    );
    await first.start();
    await eventually(
      async () => ((await committed(groupId, topic)) === 2 ? true : undefined),
      30_000,
      'offset 2',
    );
    await proxy.close();
    await eventually(async () => (fatal.length > 0 ? true : undefined), 120_000, 'onFatal');
    await first.stop().catch(() => undefined);
    running.delete(first);
    expect(await committed(groupId, topic)).toBe(2);

    // The orchestrator's restart: a new member of the group, on a broker it reaches.
    await append(topic, ['c']);
    const next = runner(groupId, topic, {
      handler: async (message) => {
        handled.push(message.key!);
      },
    });
    await next.start();
    await eventually(
      async () => ((await committed(groupId, topic)) === 3 ? true : undefined),
      60_000,
      'offset 3',
    );
    expect(handled).toEqual(['a', 'b', 'c']);
  }, 300_000);
});

describe('a rebalance while a member is inside a chunk', () => {
  it('gives the chunk to the new owner: no message lost, only handled offsets committed', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `m${i}`);
    const topic = await topicWith('rebalance', keys);
    const groupId = uniqueName('rebalance-group');
    /** Messages whose handler returned (the work is done), by member. */
    const handled: Record<'first' | 'second', string[]> = { first: [], second: [] };
    let inside: () => void = () => undefined;
    const entered = new Promise<void>((resolve) => {
      inside = resolve;
    });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const work = (name: 'first' | 'second') => async (messages: IncomingMessage[]) => {
      if (name === 'first') {
        inside();
        await gate;
        // Its work could not be finished (it lost the partition meanwhile): nothing of it may count.
        throw new Error('the first member could not finish its chunk');
      }
      handled[name].push(...messages.map((m) => m.key!));
    };
    const member = (name: 'first' | 'second') =>
      runner(groupId, topic, {
        maxBatchSize: 2,
        // The broker's smallest: the first member, silent inside its chunk, leaves the group after 6 s.
        sessionTimeoutMs: 6_000,
        batchHandler: work(name),
        handler: (m) => work(name)([m]),
      });
    const first = member('first');
    await first.start();
    await entered;
    // The second member joins while the first is inside its first chunk (m0, m1); the group moves the
    // partition to it once the first stops heartbeating.
    const second = member('second');
    await second.start();
    await eventually(
      async () => ((await committed(groupId, topic)) === keys.length ? true : undefined),
      60_000,
      `offset ${keys.length}`,
    );
    // The first member's chunk finishes (failing) after it lost the partition, and the member stops.
    release();
    await first.stop();
    running.delete(first);

    // Every message was handled by the partition's new owner, the first chunk included.
    expect(handled.first).toEqual([]);
    expect(handled.second).toEqual(keys);
    expect(await committed(groupId, topic)).toBe(keys.length);
  }, 180_000);
});
