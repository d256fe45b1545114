// Faster encoding of produced records, byte for byte what kafkajs 2.2.4 writes (issue 22).
//
// Profiles of the services under load (tests/bench/README.md, "Where the services' CPU goes") put 15-22 %
// of each service's CPU in kafkajs encoding its produce requests, most of it allocation rather than
// encoding: every record is its own `Encoder` (a zero-filled 512-byte buffer) plus one more per header (five
// on most of our messages), every varint is a `Buffer.from([...])` of its bytes, a value longer than 512
// bytes grows its encoder by copying, the record batch grows the same way, and the batch's CRC-32C runs a
// byte at a time. This module, applied before kafkajs loads (like send-retries.ts), replaces three pieces:
//
// 1. the record encoder (`protocol/recordBatch/record/v0`): the record's exact size first, then one
//    buffer written in place; records it does not know how to size exactly as kafkajs does (a header value
//    that is not a string or a buffer, a key or value of another type, a timestamp delta past ±2^30) go to
//    kafkajs's own encoder, so every input gives kafkajs's bytes or kafkajs's error;
// 2. `Encoder`'s varint writers and its growth: varints written into the buffer, growth without zero-filling
//    the bytes about to be overwritten (an encoder's `buffer` ends at what was written);
// 3. the CRC-32C of a record batch: eight bytes per step (slicing by 8) instead of one;
// 4. on the consuming side, the record decoder, which copied the whole headers object for every header it
//    read (the monitoring sink's largest kafkajs item): the same record, headers gathered in one object.
//
// fast-encoding.test.ts encodes random records and batches with kafkajs's code and with these and compares
// the bytes, and decodes batches with both and compares the records; the integration tests send through a
// real broker, which checks each batch's CRC.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const APPLIED = Symbol.for('hub.kafka.fastEncoding');
const KAFKAJS_VERSION = '2.2.4';

const RECORD = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
const CRC = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
const ENCODER = 'kafkajs/src/protocol/encoder.js';
const RECORD_DECODER = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';

/** The part of kafkajs's Encoder these replacements use. */
interface EncoderLike {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeUVarInt(value: number): EncoderLike;
  writeVarLong(value: unknown): EncoderLike;
}
type EncoderClass = { prototype: EncoderLike; nextPowerOfTwo(value: number): number } & Record<
  symbol,
  unknown
>;

export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key?: unknown;
  value?: unknown;
  headers?: unknown;
}
type RecordEncoder = (record: RecordInput) => EncoderLike;

/** Zigzag of a 32-bit value, as kafkajs's `Encoder.encodeZigZag`. */
const zigzag = (value: number) => (value << 1) ^ (value >> 31);

function uvarintSize(value: number): number {
  let bytes = 1;
  while ((value & 0xffffff80) !== 0) {
    bytes++;
    value >>>= 7;
  }
  return bytes;
}

function writeUVarInt(buf: Buffer, offset: number, value: number): number {
  while ((value & 0xffffff80) !== 0) {
    buf[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[offset++] = value & 0x7f;
  return offset;
}

/** A key or value as the record writes it: its bytes' length (-1 for none), or undefined if not simple. */
function bytesLength(value: unknown): number | undefined {
  if (value === null || value === undefined) return -1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (Buffer.isBuffer(value)) return value.length;
  return undefined;
}

/** A timestamp delta small enough that its varlong is its 32-bit zigzag varint (kafkajs's bytes). */
const smallInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 30) && value < 2 ** 30;

function writeBytes(buf: Buffer, offset: number, value: unknown, length: number): number {
  offset = writeUVarInt(buf, offset, zigzag(length));
  if (length <= 0) return offset;
  if (typeof value === 'string') return offset + buf.write(value, offset, length, 'utf8');
  (value as Buffer).copy(buf, offset);
  return offset + length;
}

/**
 * kafkajs's record encoder, writing one exactly-sized buffer; anything it would not size the same way goes
 * to `original`.
 */
export function fastRecord(Encoder: EncoderClass, original: RecordEncoder): RecordEncoder {
  return (record) => {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = record;
    if (!smallInteger(offsetDelta) || !smallInteger(timestampDelta)) return original(record);
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return original(record);
    const keyLength = bytesLength(key);
    const valueLength = bytesLength(value);
    if (keyLength === undefined || valueLength === undefined) return original(record);
    // Headers as kafkajs lists them: an array value is one header per item.
    const headerKeys: string[] = [];
    const headerValues: Array<string | Buffer> = [];
    const headerSizes: number[] = [];
    let headersSize = 0;
    for (const name of Object.keys(headers)) {
      const given = (headers as Record<string, unknown>)[name];
      for (const item of Array.isArray(given) ? given : [given]) {
        if (typeof item !== 'string' && !Buffer.isBuffer(item)) return original(record);
        const nameSize = Buffer.byteLength(name, 'utf8');
        const itemSize = typeof item === 'string' ? Buffer.byteLength(item, 'utf8') : item.length;
        headerKeys.push(name);
        headerValues.push(item);
        headerSizes.push(nameSize, itemSize);
        headersSize += uvarintSize(zigzag(nameSize)) + nameSize + uvarintSize(zigzag(itemSize)) + itemSize;
      }
    }
    const body =
      1 +
      uvarintSize(zigzag(timestampDelta)) +
      uvarintSize(zigzag(offsetDelta)) +
      uvarintSize(zigzag(keyLength)) +
      Math.max(0, keyLength) +
      uvarintSize(zigzag(valueLength)) +
      Math.max(0, valueLength) +
      uvarintSize(zigzag(headerKeys.length)) +
      headersSize;
    const total = uvarintSize(zigzag(body)) + body;
    const buf = Buffer.allocUnsafe(total);
    let at = writeUVarInt(buf, 0, zigzag(body));
    buf[at++] = 0; // attributes: none
    at = writeUVarInt(buf, at, zigzag(timestampDelta));
    at = writeUVarInt(buf, at, zigzag(offsetDelta));
    at = writeBytes(buf, at, key, keyLength);
    at = writeBytes(buf, at, value, valueLength);
    at = writeUVarInt(buf, at, zigzag(headerKeys.length));
    for (let i = 0; i < headerKeys.length; i++) {
      at = writeBytes(buf, at, headerKeys[i], headerSizes[2 * i]!);
      at = writeBytes(buf, at, headerValues[i], headerSizes[2 * i + 1]!);
    }
    if (at !== total) throw new Error(`record encoded to ${at} bytes, sized ${total}`);
    const encoder = Object.create(Encoder.prototype) as EncoderLike;
    encoder.buf = buf;
    encoder.offset = total;
    return encoder;
  };
}

/** CRC-32C (Castagnoli), eight bytes per step; the same value as kafkajs's byte-at-a-time loop. */
const TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

export function crc32c(buf: Uint8Array): number {
  const t = TABLES;
  let crc = -1;
  let i = 0;
  const end = buf.length - 7;
  for (; i < end; i += 8) {
    const a = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < buf.length; i++) crc = t[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** The part of kafkajs's Decoder the record decoder reads with. */
interface DecoderLike {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarLong(): unknown;
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
}
interface LongLike {
  add(other: unknown): LongLike;
  toString(): string;
}
interface RecordDecoderDeps {
  Long: { fromValue(value: unknown): LongLike };
  HeaderDecoder: (decoder: DecoderLike) => { key: string; value: Buffer | null };
  TimestampTypes: { LOG_APPEND_TIME: number };
}

/** A batch's first offset or timestamp (kafkajs: an int64's decimal text) as a number, when exactly one. */
function exactNumber(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const n = Number(text);
  return Number.isSafeInteger(n) && String(n) === text ? n : null;
}

/**
 * A signed varlong of at most four bytes (|value| < 2^27: a record's timestamp delta within its batch)
 * read as a number; null, and nothing read, for a longer one (kafkajs's BigInt `readVarLong` then).
 */
function readShortVarLong(decoder: DecoderLike): number | null {
  const buf = decoder.buffer;
  let at = decoder.offset;
  let result = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const byte = buf[at++];
    if (byte === undefined) return null;
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      decoder.offset = at;
      return (result >>> 1) ^ -(result & 1);
    }
  }
  return null;
}

/** `base + delta` as kafkajs writes it (an int64's decimal text), when both are exact numbers. */
const sumText = (base: number | null, delta: number | null): string | null => {
  if (base === null || delta === null) return null;
  const sum = base + delta;
  return Number.isSafeInteger(sum) ? String(sum) : null;
};

/**
 * kafkajs's record decoder with its headers gathered in one object as they are read (kafkajs copied the
 * whole object for every header: the sink's largest kafkajs item); the same fields, values and quirks (a
 * repeated header becomes an array; the existing value is read with a plain property access). A record's
 * timestamp and offset are its batch's first ones plus its deltas: kafkajs adds them as BigInt `Long`s
 * (several allocations per record, and one per byte of the timestamp delta); here as numbers whenever the
 * values are exact (offsets and millisecond times below 2^53), the same text either way.
 */
export function fastRecordDecoder({ Long, HeaderDecoder, TimestampTypes }: RecordDecoderDeps) {
  // The batch the record belongs to, and its first offset and timestamp as numbers (null: not exact).
  let batch: object | undefined;
  let firstOffsetNumber: number | null = null;
  let firstTimestampNumber: number | null = null;
  return (
    decoder: DecoderLike,
    batchContext: {
      firstOffset?: unknown;
      firstTimestamp?: unknown;
      magicByte?: number;
      isControlBatch?: boolean;
      timestampType?: number;
      maxTimestamp?: unknown;
    } = {},
  ) => {
    const {
      firstOffset,
      firstTimestamp,
      magicByte,
      isControlBatch = false,
      timestampType,
      maxTimestamp,
    } = batchContext;
    if (batchContext !== batch) {
      batch = batchContext;
      firstOffsetNumber = exactNumber(firstOffset);
      firstTimestampNumber = exactNumber(firstTimestamp);
    }
    const attributes = decoder.readInt8();
    const shortDelta = readShortVarLong(decoder);
    const timestampDelta = shortDelta ?? decoder.readVarLong();
    const timestamp =
      timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp
        ? maxTimestamp
        : (sumText(firstTimestampNumber, shortDelta) ??
          Long.fromValue(firstTimestamp).add(timestampDelta).toString());
    const offsetDelta = decoder.readVarInt();
    const offset =
      sumText(firstOffsetNumber, offsetDelta) ?? Long.fromValue(firstOffset).add(offsetDelta).toString();
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const headers: Record<string, unknown> = {};
    // kafkajs's readVarIntArray(HeaderDecoder), without the array (and its error for a bad count).
    const count = decoder.readVarInt();
    if (count < -1) throw new RangeError('Invalid array length');
    for (let i = 0; i < count; i++) {
      const header = HeaderDecoder(decoder);
      const had = headers[header.key];
      if (had === undefined) {
        // An own, enumerable, writable, configurable property, as defined below. (`__proto__` and the other
        // names of Object.prototype read a value here, so they take kafkajs's path below.)
        headers[header.key] = header.value;
        continue;
      }
      Object.defineProperty(headers, header.key, {
        value:
          had === undefined
            ? header.value
            : Array.isArray(had)
              ? had.concat([header.value])
              : [had, header.value],
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
    return {
      magicByte,
      attributes,
      timestamp,
      offset,
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  };
}

/** The replaced Encoder methods (kafkajs's kept for the inputs they do not take). */
function patchEncoder(Encoder: EncoderClass): void {
  const proto = Encoder.prototype;
  const originalVarLong = proto.writeVarLong;
  proto.writeUVarInt = function writeUVarIntInPlace(this: EncoderLike, value: number) {
    this.ensureAvailable(5); // a 32-bit value's varint
    this.offset = writeUVarInt(this.buf, this.offset, value);
    return this;
  };
  proto.writeVarLong = function writeVarLongInPlace(this: EncoderLike, value: unknown) {
    if (!smallInteger(value)) return originalVarLong.call(this, value);
    return this.writeUVarInt(zigzag(value));
  };
  proto.ensureAvailable = function ensureAvailableUnfilled(this: EncoderLike, length: number) {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
}

/** Applies the replacements once per process, before kafkajs loads (it takes the record encoder at load). */
export function applyFastEncoding(): void {
  const encoderPath = require.resolve(ENCODER);
  if (require.cache[encoderPath] && (require(encoderPath) as EncoderClass)[APPLIED]) return;
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== KAFKAJS_VERSION) {
    throw new Error(
      `libs/kafka/src/fast-encoding.ts reproduces kafkajs ${KAFKAJS_VERSION}'s record encoding, not ${version}'s: ` +
        'review it (and fast-encoding.test.ts) against the new version',
    );
  }
  const loadedBefore = [
    'kafkajs/src/protocol/requests/produce/v3/request.js',
    'kafkajs/src/protocol/recordBatch/v0/index.js',
    'kafkajs/src/protocol/recordBatch/v0/decoder.js',
  ].some((module) => require.cache[require.resolve(module)]);
  if (loadedBefore) {
    throw new Error(
      "kafkajs was loaded before libs/kafka/src/fast-encoding.ts: import './fast-encoding.js' before 'kafkajs'",
    );
  }
  const Encoder = require(encoderPath) as EncoderClass;
  const recordPath = require.resolve(RECORD);
  const original = require(recordPath) as RecordEncoder;
  require(CRC);
  const recordDecoderPath = require.resolve(RECORD_DECODER);
  require(recordDecoderPath);
  patchEncoder(Encoder);
  require.cache[recordDecoderPath]!.exports = fastRecordDecoder({
    Long: require('kafkajs/src/utils/long.js'),
    HeaderDecoder: require('kafkajs/src/protocol/recordBatch/header/v0/decoder.js'),
    TimestampTypes: require('kafkajs/src/protocol/timestampTypes.js'),
  });
  require.cache[recordPath]!.exports = fastRecord(Encoder, original);
  require.cache[require.resolve(CRC)]!.exports = crc32c;
  Encoder[APPLIED] = true;
}

/** True once kafkajs encodes with these replacements (for a test to assert). */
export function fastEncodingApplied(): boolean {
  const cached = require.cache[require.resolve(ENCODER)];
  return Boolean(cached && (cached.exports as EncoderClass)[APPLIED]);
}

applyFastEncoding();
