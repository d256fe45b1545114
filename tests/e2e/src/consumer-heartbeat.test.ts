/**
 * Issue 22 (ADR 19, amended), on the real broker: a batch handler whose chunk takes longer than the
 * session timeout keeps its member in the group by calling the `heartbeat` it is given (kafkajs
 * heartbeats only from its consume loop, between handler calls). Without it the group drops the member,
 * its commit fails, it joins again and is given the same messages again: the monitoring sink, whose first
 * chunk of a partition after a join reads the buckets of 20,000 offsets, did that without end on a
 * database with history. Both cases run here, so the test shows the drop it guards against.
 */
import { ConsumerRunner, KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { eventually, resolveStack, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'consumer-heartbeat', level: 'fatal' });
// The broker's smallest session timeout (group.min.session.timeout.ms) by default.
const SESSION_MS = 6_000;

/** One message handled by a batch handler that works 2.5 session timeouts; its joins and deliveries. */
async function slowChunk(heartbeats: boolean): Promise<{ joins: number; deliveries: number }> {
  const client = new KafkaClient({ clientId: 'consumer-heartbeat', brokers: stack.kafkaBrokers, logger });
  const topic = uniqueName('heartbeat');
  await client.ensureTopics([{ topic, partitions: 1 }]);
  const producer = await client.producer();
  let joins = 0;
  let deliveries = 0;
  let done = false;
  const consumer = new ConsumerRunner(client, {
    groupId: uniqueName('heartbeat-group'),
    topics: [topic],
    logger,
    sessionTimeoutMs: SESSION_MS,
    onGroupJoin: () => {
      joins++;
    },
    handler: async () => {
      throw new Error('the batch handler never fails here');
    },
    batchHandler: async (_messages, { heartbeat }) => {
      deliveries++;
      if (deliveries === 1) {
        for (const until = Date.now() + 2.5 * SESSION_MS; Date.now() < until; ) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          if (heartbeats) await heartbeat();
        }
      }
      done = true;
    },
    onPermanentFailure: async () => undefined,
    onFatal: () => undefined,
  });
  await consumer.start();
  try {
    await producer.send([{ topic, key: 'k', value: { n: 1 } }]);
    await eventually(async () => (done ? true : undefined), 90_000, 'the slow chunk handled');
    // Time for a dropped member to find out at its commit, join again and be given the message again.
    await new Promise((resolve) => setTimeout(resolve, SESSION_MS));
    return { joins, deliveries };
  } finally {
    await consumer.stop();
    await producer.close();
  }
}

describe('a batch handler that works longer than the session timeout', { timeout: 240_000 }, () => {
  it('stays in its group when it heartbeats, and is handed its chunk again when it does not', async () => {
    const alive = await slowChunk(true);
    expect(alive).toEqual({ joins: 1, deliveries: 1 });
    const dropped = await slowChunk(false);
    expect(dropped.joins).toBeGreaterThan(1);
    expect(dropped.deliveries).toBeGreaterThan(1);
  });
});
