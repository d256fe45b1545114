import type { Message, Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { MessageProducer } from './client.js';

/**
 * A stand-in for kafkajs's producer (the write path's logic alone; the real cluster is in
 * tests/e2e/src/kafka-cluster.test.ts): records each sendBatch, how many ran at once, and acknowledges
 * every partition after `ms`, or fails when `fail` says so.
 */
function stubProducers(ms = 20, fail: (call: number) => boolean = () => false) {
  const calls: string[][] = [];
  let running = 0;
  let mostAtOnce = 0;
  let made = 0;
  const make = () => {
    made++;
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: async ({ topicMessages }: ProducerBatch): Promise<RecordMetadata[]> => {
        const call = calls.push(topicMessages!.flatMap((t) => t.messages.map((m) => String(m.value)))) - 1;
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((r) => setTimeout(r, ms));
        running--;
        if (fail(call)) throw new Error('KafkaJSNumberOfRetriesExceeded');
        return topicMessages!.flatMap((t) =>
          t.messages.map((m: Message) => {
            m.partition = 0; // as stablePartitioner leaves it
            return { topicName: t.topic, partition: 0, errorCode: 0 };
          }),
        );
      },
    } as unknown as Producer;
  };
  return { make, calls, mostAtOnce: () => mostAtOnce, made: () => made };
}

const send = (producer: MessageProducer, values: string[]) =>
  producer.send(values.map((value) => ({ topic: 't', key: value, value })));

describe('MessageProducer: one write at a time', () => {
  it('never has two kafkajs sends under way: sends arriving meanwhile go together in the next, in order', async () => {
    const stub = stubProducers();
    const producer = await MessageProducer.connect(stub.make);
    await Promise.all([send(producer, ['a']), send(producer, ['b', 'c']), send(producer, ['d'])]);
    await send(producer, ['e']);
    expect(stub.mostAtOnce()).toBe(1);
    expect(stub.calls).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
    await producer.close();
  });

  it('a failed write fails every send it carried; the next write goes through a new producer', async () => {
    const stub = stubProducers(20, (call) => call === 1);
    const producer = await MessageProducer.connect(stub.make);
    const outcomes = await Promise.allSettled([
      send(producer, ['a']),
      send(producer, ['b']),
      send(producer, ['c']),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    await send(producer, ['d']);
    expect(stub.calls).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(stub.made()).toBe(2);
    await producer.close();
  });
});
