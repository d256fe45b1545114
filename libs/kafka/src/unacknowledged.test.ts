import type { RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { unacknowledged } from './client.js';
import { stablePartitioner } from './partitioner.js';

const ack = (topicName: string, partition: number, errorCode = 0): RecordMetadata => ({
  topicName,
  partition,
  errorCode,
});

describe('unacknowledged (what kafkajs resolved a send without writing)', () => {
  it('keeps the messages of partitions no broker answered for, in their order, and drops the rest', () => {
    const sent = [
      {
        topic: 'a',
        messages: [
          { key: 'k1', value: '1', partition: 0 },
          { key: 'k2', value: '2', partition: 5 },
          { key: 'k3', value: '3', partition: 0 },
          { key: 'k4', value: '4', partition: 5 },
        ],
      },
      { topic: 'b', messages: [{ key: 'k5', value: '5', partition: 5 }] },
    ];
    // Partition 5 of topic a moved to a broker that had answered for partition 0: kafkajs never sent it.
    const left = unacknowledged(sent, [ack('a', 0), ack('b', 5)]);
    expect(left).toEqual([
      {
        topic: 'a',
        messages: [
          { key: 'k2', value: '2', partition: 5 },
          { key: 'k4', value: '4', partition: 5 },
        ],
      },
    ]);
  });

  it('counts an answer with an error as not written, and is empty when every partition was', () => {
    const sent = [{ topic: 'a', messages: [{ key: 'k', value: 'v', partition: 1 }] }];
    expect(unacknowledged(sent, [ack('a', 1, 6)])).toEqual(sent);
    expect(unacknowledged(sent, [ack('a', 1)])).toEqual([]);
  });
});

describe('stablePartitioner', () => {
  it('writes the partition it chose into the message, and keeps it on the next call', () => {
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 1,
      replicas: [1],
      isr: [1],
    }));
    const partition = stablePartitioner();
    const unkeyed = { key: null, value: 'v' };
    const first = partition({ topic: 't', partitionMetadata, message: unkeyed });
    expect((unkeyed as { partition?: number }).partition).toBe(first);
    // Round-robin would move an unkeyed message on a retry; it stays where it was first sent.
    for (let i = 0; i < 5; i++)
      expect(partition({ topic: 't', partitionMetadata, message: unkeyed })).toBe(first);
  });
});
