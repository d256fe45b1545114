/**
 * Issue 22 (ADR 19, amended), on the real broker: a batch handler whose chunk takes longer than the
 * session timeout keeps its member in the group (kafkajs heartbeats only from its consume loop, between
 * handler calls). Without heartbeats the group drops the member, its commit fails, it joins again and is
 * given the same messages again: the monitoring sink, whose first chunk of a partition after a join reads
 * the buckets of 20,000 offsets, did that without end on a database with history; and an entity-writer
 * whose send waited out a broker restart lost its partitions to another writer, which sent the same
 * processed messages again (the chaos run, seed 371872). The runner heartbeats for a call while it runs,
 * up to `maxHandlerMs`; a handler may also heartbeat itself. The last case shows the drop it guards
 * against: a call past `maxHandlerMs` is taken for hung.
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
async function slowChunk(
  heartbeats: boolean,
  maxHandlerMs?: number,
): Promise<{ joins: number; deliveries: number }> {
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
    ...(maxHandlerMs === undefined ? {} : { maxHandlerMs }),
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
  it('stays in its group, heartbeating or not, and is handed its chunk again once taken for hung', async () => {
    expect(await slowChunk(true)).toEqual({ joins: 1, deliveries: 1 });
    // The runner heartbeats for the call while it runs.
    expect(await slowChunk(false)).toEqual({ joins: 1, deliveries: 1 });
    // Past maxHandlerMs it stops: the group drops the member and hands the chunk over again.
    const dropped = await slowChunk(false, 1_000);
    expect(dropped.joins).toBeGreaterThan(1);
    expect(dropped.deliveries).toBeGreaterThan(1);
  });
});
