import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { sendRetriesFixed } from './send-retries.js';

// kafkajs's own send code (the module as client.ts's producers get it: with the fix of send-retries.ts),
// its idempotent state (eosManager: producer id, sequence numbers, per-broker locks) and its retrier, over
// stand-in brokers whose answers this test times: the defect is a race between them.
const require = createRequire(import.meta.url);
const createSendMessages = require('kafkajs/src/producer/sendMessages.js');
const createEosManager = require('kafkajs/src/producer/eosManager/index.js');
const createRetry = require('kafkajs/src/retry/index.js');
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js');

const NOT_LEADER = 6;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Produced {
  broker: number;
  partition: number;
  firstSequence: number;
  values: string[];
}

/**
 * Three brokers; partition 0 led by broker 1, partition 1 by broker 2. Broker 1 answers NOT_LEADER at once
 * (its leadership just moved to broker 3); broker 2 writes and answers after `slowMs` (acks=all under load).
 */
function cluster(
  slowMs: number,
  afterWrite?: (nodeId: number, move: (partition: number, to: number) => void) => void,
) {
  const produced: Produced[] = [];
  // The producer's view (its metadata) and the truth: partition 0's leadership has moved to broker 3.
  let leaders: Record<number, number> = { 0: 1, 1: 2 };
  const actual: Record<number, number> = { 0: 3, 1: 2 };
  const broker = (nodeId: number) => ({
    nodeId,
    async initProducerId() {
      return { producerId: 7, producerEpoch: 0 };
    },
    async produce({ topicData }: { topicData: Array<{ topic: string; partitions: never[] }> }) {
      const partitions = topicData.flatMap((t) =>
        t.partitions.map(
          (p: { partition: number; firstSequence: number; messages: Array<{ value: string }> }) => ({
            topicName: t.topic,
            ...p,
          }),
        ),
      );
      if (partitions.some((p) => actual[p.partition] !== nodeId)) throw createErrorFromCode(NOT_LEADER);
      if (nodeId === 2) await sleep(slowMs);
      for (const p of partitions) {
        produced.push({
          broker: nodeId,
          partition: p.partition,
          firstSequence: p.firstSequence,
          values: p.messages.map((m) => m.value),
        });
      }
      // A leadership that moves right after a write (the producer learns it with its next metadata).
      afterWrite?.(nodeId, (partition, to) => {
        actual[partition] = to;
        if (leaders[partition] !== actual[partition]) leaders = { ...leaders, [partition]: to };
      });
      return {
        topics: [
          {
            topicName: topicData[0]!.topic,
            partitions: partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })),
          },
        ],
      };
    },
  });
  const brokers = new Map([1, 2, 3].map((id) => [id, broker(id)]));
  const metadata = [0, 1].map((partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
  }));
  const stub = {
    retry: { retries: 0 },
    isConnected: () => true,
    async refreshMetadataIfNecessary() {},
    async refreshMetadata() {
      leaders = { ...actual }; // what broker 1's NOT_LEADER leads the producer to learn
    },
    async addMultipleTargetTopics() {},
    findTopicPartitionMetadata: () => metadata,
    findLeaderForPartitions(_topic: string, partitions: string[]) {
      const out: Record<number, number[]> = {};
      for (const p of partitions.map(Number)) out[leaders[p]!] = [...(out[leaders[p]!] ?? []), p];
      return out;
    },
    async findBroker({ nodeId }: { nodeId: number }) {
      return brokers.get(Number(nodeId));
    },
    async findControllerBroker() {
      return brokers.get(1);
    },
    removeBroker() {},
  };
  return { stub, produced };
}

describe('kafkajs send retries on a cluster (send-retries.ts)', () => {
  it('is in place for the producers of this library', () => {
    expect(sendRetriesFixed()).toBe(true);
  });

  it('a leader moves mid-send while another broker is still writing: each record is written once', async () => {
    const { stub, produced } = cluster(400);
    const eosManager = createEosManager({ logger: silent, cluster: stub, transactional: false });
    await eosManager.initProducerId();
    const send = createSendMessages({
      logger: silent,
      cluster: stub,
      // Each message's own partition (as stablePartitioner, client.ts, leaves it).
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
      eosManager,
      // kafkajs retries after about 50 ms: well before broker 2's first answer (400 ms).
      retrier: createRetry({ retries: 3, initialRetryTime: 50, maxRetryTime: 100 }),
    });
    const messages = ['a', 'b', 'c', 'd'].map((value, i) => ({ key: value, value, partition: i % 2 }));
    const written = await send({ acks: -1, topicMessages: [{ topic: 't', messages }] });

    // Every record once: partition 1's on broker 2 (not asked again while it was still writing them),
    // partition 0's on broker 3, its new leader.
    const records = produced.flatMap((p) => p.values);
    expect(records.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(produced.map((p) => [p.broker, p.partition, p.firstSequence])).toEqual(
      expect.arrayContaining([
        [2, 1, 0],
        [3, 0, 0],
      ]),
    );
    expect(written.map((w: { partition: number }) => w.partition).sort()).toEqual([0, 1]);
  });

  it('a partition written in one attempt whose leader then moves is not sent again by the next', async () => {
    // Broker 2 writes partition 1, then its leadership moves to broker 3, which also leads partition 0 now:
    // the retry (for partition 0) must not hand broker 3 partition 1's records as well.
    const { stub, produced } = cluster(0, (nodeId, move) => {
      if (nodeId === 2) move(1, 3);
    });
    const eosManager = createEosManager({ logger: silent, cluster: stub, transactional: false });
    await eosManager.initProducerId();
    const send = createSendMessages({
      logger: silent,
      cluster: stub,
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
      eosManager,
      retrier: createRetry({ retries: 3, initialRetryTime: 20, maxRetryTime: 50 }),
    });
    const messages = ['a', 'b', 'c', 'd'].map((value, i) => ({ key: value, value, partition: i % 2 }));
    const written = await send({ acks: -1, topicMessages: [{ topic: 't', messages }] });

    expect(produced.flatMap((p) => p.values).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(produced.map((p) => [p.broker, p.partition, p.firstSequence])).toEqual([
      [2, 1, 0],
      [3, 0, 0],
    ]);
    expect(written.map((w: { partition: number }) => w.partition).sort()).toEqual([0, 1]);
  });

  it('a send that fails settles only once its requests to the other brokers have their answers', async () => {
    const { stub, produced } = cluster(300);
    stub.refreshMetadata = async () => {}; // broker 1 keeps answering NOT_LEADER: the send runs out of retries
    const eosManager = createEosManager({ logger: silent, cluster: stub, transactional: false });
    await eosManager.initProducerId();
    const send = createSendMessages({
      logger: silent,
      cluster: stub,
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
      eosManager,
      retrier: createRetry({ retries: 1, initialRetryTime: 20, maxRetryTime: 20 }),
    });
    const messages = ['a', 'b'].map((value, i) => ({ key: value, value, partition: i % 2 }));
    await expect(send({ acks: -1, topicMessages: [{ topic: 't', messages }] })).rejects.toThrow();
    // What the failed send wrote is known when it fails (a caller that retries it can find it), and only once.
    expect(produced.map((p) => [p.broker, p.partition, p.values])).toEqual([[2, 1, ['b']]]);
  });
});
