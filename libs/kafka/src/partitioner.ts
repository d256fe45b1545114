import { type ICustomPartitioner, Partitioners } from 'kafkajs';

/**
 * Which partition a keyed message goes to, as kafkajs's DefaultPartitioner (Kafka's Java client) chooses it:
 * `(murmur2(key) & 0x7fffffff) % partitions`. kafkajs 2.2.4 computes murmur2 with its 64-bit `Long` (a
 * BigInt allocated at every step, a dozen per four bytes of key): 8-9 % of the gateway's and the mapper's
 * CPU under load (issue 22's profiles, tests/bench/README.md). The same hash in 32-bit integer arithmetic
 * gives the same value: only the low 32 bits of kafkajs's products and xors are ever read (`toInt()`), and
 * they depend only on the low 32 bits of the operands. partitioner.test.ts holds it to kafkajs's own.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** A key's UTF-8 bytes are written here (kafkajs: `Buffer.from(String(key))`, a buffer per message). */
let scratch = Buffer.allocUnsafe(512);

/** Kafka's murmur2 of a key (kafkajs `partitioners/default/murmur2.js`): a signed 32-bit integer. */
export function murmur2(key: Buffer | string): number {
  let data: Buffer;
  let length: number;
  if (Buffer.isBuffer(key)) {
    data = key;
    length = key.length;
  } else {
    const text = String(key);
    // A UTF-16 unit takes at most 3 bytes of UTF-8 (a surrogate pair: 4 for two units).
    if (text.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(text.length * 3);
    data = scratch;
    length = scratch.write(text, 0, 'utf8');
  }
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a key among `partitions` (kafkajs's DefaultPartitioner for a keyed message). */
export const partitionOf = (key: Buffer | string, partitions: number): number =>
  (murmur2(key) & 0x7fffffff) % partitions;

/**
 * kafkajs's DefaultPartitioner, except that the partition chosen for a message is written into it
 * (`message.partition`), so kafkajs's retries send it to the same partition (a message without a key would
 * otherwise go round-robin to another one on each attempt) and `MessageProducer` knows where each went.
 * A keyed message's partition is `partitionOf` (the same as kafkajs's, computed without BigInts); a message
 * without a key goes to kafkajs's own round-robin.
 */
export const stablePartitioner: ICustomPartitioner = () => {
  const roundRobin = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message } = args;
    let partition: number;
    if (message.partition !== null && message.partition !== undefined) partition = message.partition;
    else if (message.key !== null && message.key !== undefined)
      partition = partitionOf(message.key, args.partitionMetadata.length);
    else partition = roundRobin(args);
    message.partition = partition;
    return partition;
  };
};
