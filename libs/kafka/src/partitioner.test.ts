import { createRequire } from 'node:module';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionOf, stablePartitioner } from './partitioner.js';

// kafkajs's own murmur2 (64-bit Longs) and DefaultPartitioner are the reference: the producers must send
// every key to the partition they chose, or a key's messages would change partition (and lose their order)
// across an upgrade, and `partitionOfKey` would point the scans at the wrong partitions.
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer | string,
) => number;

/** A small deterministic generator, so a failure repeats. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const metadata = (count: number) =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
  }));

// Keys as the hub makes them (event ids, integration and group ids, entity identities), every length from
// 0 to 80 bytes (so every remainder of 4), non-ASCII text (2-, 3- and 4-byte UTF-8), lone surrogates
// (written as U+FFFD by both), and raw bytes.
function keys(): Array<Buffer | string> {
  const rnd = random(22);
  const pick = (alphabet: string[]) => alphabet[Math.floor(rnd() * alphabet.length)]!;
  const ascii = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:|\u0000 '];
  const wide = [...ascii, 'é', 'ß', '€', '漢', '😀', '\ud800', '\udfff'];
  const out: Array<Buffer | string> = [
    '',
    'evt_01JBX7Q9ZK3M4N5P6R7S8T9V0W',
    'int_7f3a|grp-42',
    'org-1\u0000customer\u0000C-0001',
    '😀😀😀',
  ];
  for (let length = 0; length <= 80; length++) {
    for (let n = 0; n < 20; n++) {
      out.push(Array.from({ length }, () => pick(ascii)).join(''));
      out.push(Array.from({ length }, () => pick(wide)).join(''));
      out.push(Buffer.from(Array.from({ length }, () => Math.floor(rnd() * 256))));
    }
  }
  out.push('x'.repeat(5_000), '€'.repeat(3_000)); // past the scratch buffer's first size
  return out;
}

describe('murmur2', () => {
  it("gives kafkajs's value for every key", () => {
    const all = keys();
    expect(all.length).toBeGreaterThan(4_800);
    const differ = all.filter((key) => murmur2(key) !== kafkajsMurmur2(key));
    expect(differ).toEqual([]);
  });

  it("puts every key on kafkajs's DefaultPartitioner's partition, for 1 to 24 partitions", () => {
    const theirs = Partitioners.DefaultPartitioner();
    const ours = stablePartitioner();
    const short = keys().filter((key) => key.length <= 80);
    const differ: unknown[] = [];
    for (const count of [1, 2, 3, 7, 12, 24]) {
      const partitionMetadata = metadata(count);
      for (const key of short) {
        const expected = theirs({ topic: 't', partitionMetadata, message: { key, value: null } });
        const message: { key: Buffer | string; value: null; partition?: number } = { key, value: null };
        const got = ours({ topic: 't', partitionMetadata, message });
        if (got !== expected || message.partition !== expected || partitionOf(key, count) !== expected)
          differ.push({ key, count, expected, got, written: message.partition });
      }
    }
    expect(differ).toEqual([]);
  });
});

describe('stablePartitioner', () => {
  it('keeps a partition a message already has', () => {
    const partition = stablePartitioner();
    const message = { key: 'evt_1', value: 'v', partition: 2 };
    expect(partition({ topic: 't', partitionMetadata: metadata(3), message })).toBe(2);
    expect(message.partition).toBe(2);
  });
});
