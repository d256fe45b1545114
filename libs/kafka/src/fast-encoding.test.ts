import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// kafkajs's own encoding code, loaded afresh (not the copies fast-encoding.ts replaced in the module cache),
// is the reference: the replacements must write the same bytes for every input.
const require = createRequire(import.meta.url);
const MODULES = [
  'kafkajs/src/protocol/encoder.js',
  'kafkajs/src/protocol/recordBatch/header/v0/index.js',
  'kafkajs/src/protocol/recordBatch/record/v0/index.js',
  'kafkajs/src/protocol/recordBatch/crc32C/crc32C.js',
  'kafkajs/src/protocol/recordBatch/crc32C/index.js',
  'kafkajs/src/protocol/recordBatch/v0/index.js',
  'kafkajs/src/protocol/recordBatch/record/v0/decoder.js',
  'kafkajs/src/protocol/recordBatch/v0/decoder.js',
].map((m) => require.resolve(m));

type Encoder = { buffer: Buffer; writeVarLong(v: unknown): Encoder; writeUVarInt(v: number): Encoder };
interface Kafkajs {
  Encoder: new () => Encoder;
  Record: (record: Record<string, unknown>) => Encoder;
  crc32C: (buffer: Buffer) => number;
  RecordBatch: (options: Record<string, unknown>) => Promise<Encoder>;
  RecordDecoder: unknown;
  decodeBatch: (decoder: unknown) => Promise<unknown>;
}
const load = (): Kafkajs => ({
  Encoder: require('kafkajs/src/protocol/encoder.js'),
  Record: require('kafkajs/src/protocol/recordBatch/record/v0/index.js'),
  crc32C: require('kafkajs/src/protocol/recordBatch/crc32C/index.js'),
  RecordBatch: require('kafkajs/src/protocol/recordBatch/v0/index.js').RecordBatch,
  RecordDecoder: require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js'),
  decodeBatch: require('kafkajs/src/protocol/recordBatch/v0/decoder.js'),
});
const Decoder = require('kafkajs/src/protocol/decoder.js');

function freshKafkajs(): Kafkajs {
  const saved = MODULES.map((path) => require.cache[path]);
  for (const path of MODULES) delete require.cache[path];
  try {
    return load();
  } finally {
    MODULES.forEach((path, i) => {
      if (saved[i]) require.cache[path] = saved[i];
      else delete require.cache[path];
    });
  }
}

const reference = freshKafkajs();
const { fastEncodingApplied } = await import('./fast-encoding.js');
// kafkajs's modules as a producer loads them now: the record encoder, the CRC and the Encoder replaced.
const fast = load();
const Long = require('kafkajs/src/utils/long.js');

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
const rnd = random(22);
const pick = <T>(items: T[]): T => items[Math.floor(rnd() * items.length)]!;
const text = (max: number) => {
  const alphabet = ['a', 'Z', '0', '{', '"', ' ', 'é', '€', '𝄞', '\u0000', 'ü'];
  return Array.from({ length: Math.floor(rnd() * max) }, () => pick(alphabet)).join('');
};
const bytes = (max: number) =>
  Buffer.from(Array.from({ length: Math.floor(rnd() * max) }, () => (rnd() * 256) | 0));
const keyOrValue = () =>
  pick([null, undefined, '', text(40), text(3000), bytes(50), bytes(2000), JSON.stringify({ a: text(200) })]);
const headers = () => {
  const out: Record<string, unknown> = {};
  const count = Math.floor(rnd() * 7);
  for (let i = 0; i < count; i++) {
    // Defined, not assigned: `__proto__` is a header name like any other here.
    Object.defineProperty(
      out,
      pick([
        'traceparent',
        'x-correlation-id',
        'x-event-id',
        'x-org-id',
        'schema-version',
        'constructor',
        '__proto__',
        text(12),
      ]),
      {
        value: pick([text(60), '', bytes(20), [text(10), bytes(5)], []]),
        enumerable: true,
        writable: true,
        configurable: true,
      },
    );
  }
  return out;
};
const record = () => ({
  offsetDelta: pick([0, 1, 63, 64, 127, 128, 8191, 8192, Math.floor(rnd() * 100_000)]),
  timestampDelta: pick([0, 1, -1, 1000, -5000, 2 ** 30 - 1, -(2 ** 30), 2 ** 30, 2 ** 40, -(2 ** 35)]),
  key: keyOrValue(),
  value: keyOrValue(),
  headers: headers(),
});

describe('fast record encoding (kafkajs 2.2.4 bytes)', () => {
  it('is applied to the kafkajs a producer loads', () => {
    expect(fastEncodingApplied()).toBe(true);
    expect(fast.Record).not.toBe(reference.Record);
    expect(fast.crc32C).not.toBe(reference.crc32C);
  });

  it('encodes records byte for byte as kafkajs does', { timeout: 60_000 }, () => {
    for (let i = 0; i < 1000; i++) {
      const input = record();
      const expected = reference.Record(input).buffer;
      expect(fast.Record(input).buffer.equals(expected), JSON.stringify(input)).toBe(true);
    }
  });

  it("leaves kafkajs's errors as they were (a header value that is neither text nor bytes)", () => {
    const input = { key: 'k', value: 'v', headers: { a: null } };
    expect(() => reference.Record(input)).toThrow();
    expect(() => fast.Record(input)).toThrow();
    const numeric = { key: 'k', value: 42 };
    let referenceError: unknown;
    try {
      reference.Record(numeric);
    } catch (err) {
      referenceError = err;
    }
    expect(() => fast.Record(numeric)).toThrow((referenceError as Error).message);
  });

  it('computes the same CRC-32C for every length and content', () => {
    for (let length = 0; length < 300; length++) {
      const buffer = bytes(length + 1).subarray(0, length);
      expect(fast.crc32C(buffer)).toBe(reference.crc32C(buffer));
    }
    const big = bytes(100_000);
    expect(fast.crc32C(big)).toBe(reference.crc32C(big));
    expect(fast.crc32C(Buffer.from('123456789'))).toBe(0xe3069283); // the check value of CRC-32C
  });

  it('writes varints and varlongs as kafkajs does, small and large', () => {
    const values = [
      0,
      1,
      -1,
      63,
      -64,
      64,
      2 ** 20,
      -(2 ** 20),
      2 ** 30 - 1,
      -(2 ** 30),
      2 ** 30,
      2 ** 31 - 1,
    ];
    for (const v of [
      ...values,
      2 ** 40,
      -(2 ** 45),
      Long.fromString('-9223372036854775808'),
      Long.fromNumber(12345),
    ]) {
      expect(
        new fast.Encoder().writeVarLong(v).buffer.equals(new reference.Encoder().writeVarLong(v).buffer),
      ).toBe(true);
    }
    for (const v of [...values, 2 ** 32 - 1, 4294967295, -(2 ** 31)]) {
      expect(
        new fast.Encoder().writeUVarInt(v).buffer.equals(new reference.Encoder().writeUVarInt(v).buffer),
      ).toBe(true);
    }
  });

  it('encodes whole record batches as kafkajs does (records, growth, CRC)', { timeout: 60_000 }, async () => {
    for (let i = 0; i < 20; i++) {
      const inputs = Array.from({ length: 1 + Math.floor(rnd() * 60) }, record);
      const options = {
        firstTimestamp: 1_796_580_000_000,
        maxTimestamp: 1_796_580_000_100,
        producerId: Long.fromNumber(4242),
        producerEpoch: 3,
        firstSequence: 17,
        lastOffsetDelta: inputs.length - 1,
      };
      const expected = await reference.RecordBatch({
        ...options,
        records: inputs.map((r) => reference.Record(r)),
      });
      const actual = await fast.RecordBatch({
        ...options,
        records: inputs.map((r) => fast.Record(r)),
      });
      expect(actual.buffer.equals(expected.buffer)).toBe(true);
    }
  });

  it('decodes fetched record batches as kafkajs does (headers gathered, repeated ones as lists)', {
    timeout: 60_000,
  }, async () => {
    expect(fast.RecordDecoder).not.toBe(reference.RecordDecoder);
    for (let i = 0; i < 30; i++) {
      const inputs = Array.from({ length: 1 + Math.floor(rnd() * 40) }, record).map((r) => ({
        ...r,
        timestampDelta: Math.floor(rnd() * 1000),
      }));
      const batch = await reference.RecordBatch({
        firstOffset: Long.fromNumber(1000 + i),
        firstTimestamp: 1_796_580_000_000,
        maxTimestamp: 1_796_580_001_000,
        lastOffsetDelta: inputs.length - 1,
        records: inputs.map((r) => reference.Record(r)),
      });
      const expected = await reference.decodeBatch(new Decoder(batch.buffer));
      const actual = await fast.decodeBatch(new Decoder(batch.buffer));
      expect(actual).toEqual(expected);
      const headers = (actual as { records: Array<{ headers: object }> }).records.map((r) => r.headers);
      const want = (expected as { records: Array<{ headers: object }> }).records.map((r) => r.headers);
      headers.forEach((h, j) => {
        expect(Object.keys(h)).toEqual(Object.keys(want[j]!));
        expect(Object.getPrototypeOf(h)).toBe(Object.getPrototypeOf(want[j]!));
      });
    }
  });

  it('decodes the timestamps and offsets kafkajs decodes, with deltas of every size and first values past 2^53', {
    timeout: 60_000,
  }, async () => {
    // A timestamp delta of at most four varint bytes (|delta| < 2^27) and first values below 2^53 are added as
    // numbers; the rest as kafkajs's Longs: both sides of each limit, and a first offset whose sum crosses it.
    const deltas = [
      0,
      1,
      -1,
      63,
      -64,
      64,
      2 ** 27 - 1,
      -(2 ** 27),
      2 ** 27,
      -(2 ** 27) - 1,
      2 ** 30,
      2 ** 40,
      -(2 ** 35),
    ];
    const firsts: Array<[string, number]> = [
      ['1000', 1_796_580_000_000],
      ['0', -1],
      ['9007199254740980', 1_796_580_000_000], // offsets cross 2^53 within the batch
      ['9223372036854775000', 9_007_199_254_740_000], // timestamps cross 2^53 too
    ];
    for (const [firstOffset, firstTimestamp] of firsts) {
      const inputs = deltas.map((timestampDelta, j) => ({
        ...record(),
        offsetDelta: j * 3,
        timestampDelta,
      }));
      const batch = await reference.RecordBatch({
        firstOffset: Long.fromString(firstOffset),
        firstTimestamp,
        maxTimestamp: firstTimestamp + 1000,
        lastOffsetDelta: inputs.length * 3,
        records: inputs.map((r) => reference.Record(r)),
      });
      const expected = (await reference.decodeBatch(new Decoder(batch.buffer))) as {
        records: Array<{ offset: string; timestamp: string }>;
      };
      const actual = (await fast.decodeBatch(new Decoder(batch.buffer))) as typeof expected;
      expect(actual).toEqual(expected);
      expect(actual.records.map((r) => [r.offset, r.timestamp])).toEqual(
        expected.records.map((r) => [r.offset, r.timestamp]),
      );
    }
  });
});
