// The MongoDB wire protocol, as far as the fault injector (mongo-injector.ts) needs it: framing, OP_MSG
// (request and reply), the legacy OP_QUERY command and its OP_REPLY (a driver's first handshake), with
// BSON through the driver's own `bson` package. https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
import { type Document, deserialize, serialize } from 'bson';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

/** OP_MSG flag bits. */
export const CHECKSUM_PRESENT = 1;
export const MORE_TO_COME = 1 << 1;
export const EXHAUST_ALLOWED = 1 << 16;
/** OP_QUERY flag bit: the client may read from a secondary. */
export const QUERY_SECONDARY_OK = 1 << 2;

const HEADER = 16;
/** MongoDB's own limit (maxMessageSizeBytes); anything longer is not a message. */
const MAX_MESSAGE = 48_000_000;

export interface Frame {
  requestId: number;
  responseTo: number;
  opCode: number;
  /** The whole message, header included. */
  raw: Buffer;
}

/**
 * Splits a byte stream into whole messages. Feed it chunks as they arrive; it returns the messages
 * completed so far and keeps the rest. Throws on a length no MongoDB message has.
 */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readInt32LE(0);
      if (length < HEADER || length > MAX_MESSAGE) {
        throw new Error(`not a MongoDB message: length ${length} (16 to ${MAX_MESSAGE} bytes)`);
      }
      if (this.buffered.length < length) break;
      const raw = this.buffered.subarray(0, length);
      this.buffered = this.buffered.subarray(length);
      frames.push({
        requestId: raw.readInt32LE(4),
        responseTo: raw.readInt32LE(8),
        opCode: raw.readInt32LE(12),
        raw,
      });
    }
    return frames;
  }
}

/** Documents decoded keeping every BSON type (Int32, Long, Double...), so they re-encode byte for byte. */
const KEEP_TYPES = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true };

export interface OpMsg {
  flags: number;
  /** The kind 0 section: the command, or the reply. */
  body: Document;
  /** Kind 1 sections: `documents` of an insert and the like, by identifier. */
  sequences: Array<{ identifier: string; documents: Document[] }>;
}

/** The first key of a message's command document, read without decoding the rest (null: not a command). */
export function commandName(frame: Frame): string | null {
  return commandHead(frame)?.name ?? null;
}

/**
 * The first element of a message's command document without decoding the rest: the command's name and,
 * when it is a string, its value (the collection of `insert`, `find`...).
 */
export function commandHead(frame: Frame): { name: string; target?: string } | null {
  let at: number;
  if (frame.opCode === OP_MSG) {
    at = HEADER + 4;
    // The body is the kind 0 section; kind 1 sections may come first.
    while (at < frame.raw.length && frame.raw[at] === 1) at += 1 + frame.raw.readInt32LE(at + 1);
    if (frame.raw[at] !== 0) return null;
    at += 1;
  } else if (frame.opCode === OP_QUERY) {
    at = frame.raw.indexOf(0, HEADER + 4) + 1 + 8; // flags, collection name, skip and return counts
  } else {
    return null;
  }
  // A document: int32 size, then elements (type byte, cstring key, value); the first element's key.
  const type = frame.raw[at + 4];
  const keyStart = at + 5;
  const keyEnd = frame.raw.indexOf(0, keyStart);
  if (type === 0 || keyEnd < 0) return null;
  const name = frame.raw.toString('utf8', keyStart, keyEnd);
  if (type !== 2) return { name };
  const length = frame.raw.readInt32LE(keyEnd + 1);
  return { name, target: frame.raw.toString('utf8', keyEnd + 5, keyEnd + 4 + length) };
}

/**
 * An OP_MSG's sections. By default every BSON type is kept (re-encoding gives the same bytes); `plain`
 * decodes numbers to JavaScript numbers, for reading a command's options.
 */
export function decodeOpMsg(frame: Frame, plain = false): OpMsg {
  const options = plain ? {} : KEEP_TYPES;
  const raw = frame.raw;
  const flags = raw.readUInt32LE(HEADER);
  const end = raw.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
  let body: Document | undefined;
  const sequences: OpMsg['sequences'] = [];
  for (let at = HEADER + 4; at < end; ) {
    const kind = raw[at];
    if (kind === 0) {
      const size = raw.readInt32LE(at + 1);
      body = deserialize(raw.subarray(at + 1, at + 1 + size), options);
      at += 1 + size;
    } else if (kind === 1) {
      const size = raw.readInt32LE(at + 1);
      const sectionEnd = at + 1 + size;
      const idEnd = raw.indexOf(0, at + 5);
      const identifier = raw.toString('utf8', at + 5, idEnd);
      const documents: Document[] = [];
      for (let d = idEnd + 1; d < sectionEnd; ) {
        const docSize = raw.readInt32LE(d);
        documents.push(deserialize(raw.subarray(d, d + docSize), options));
        d += docSize;
      }
      sequences.push({ identifier, documents });
      at = sectionEnd;
    } else {
      throw new Error(`OP_MSG ${frame.requestId}: unknown section kind ${kind}`);
    }
  }
  if (!body) throw new Error(`OP_MSG ${frame.requestId}: no body section`);
  return { flags, body, sequences };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** An OP_MSG (no checksum: whoever changes a message drops it). */
export function encodeOpMsg(msg: OpMsg, requestId: number, responseTo: number): Buffer {
  const parts: Uint8Array[] = [];
  const flags = Buffer.alloc(4);
  flags.writeUInt32LE((msg.flags & ~CHECKSUM_PRESENT) >>> 0, 0);
  parts.push(flags, Buffer.from([0]), serialize(msg.body));
  for (const seq of msg.sequences) {
    const docs = seq.documents.map((d) => serialize(d));
    const id = Buffer.from(`${seq.identifier}\0`, 'utf8');
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + id.length + docs.reduce((n, d) => n + d.length, 0), 0);
    parts.push(Buffer.from([1]), size, id, ...docs);
  }
  const payload = Buffer.concat(parts);
  return Buffer.concat([header(HEADER + payload.length, requestId, responseTo, OP_MSG), payload]);
}

export interface OpQuery {
  flags: number;
  /** `<db>.$cmd` for a command. */
  collection: string;
  query: Document;
}

export function decodeOpQuery(frame: Frame): OpQuery {
  const raw = frame.raw;
  const flags = raw.readInt32LE(HEADER);
  const nameEnd = raw.indexOf(0, HEADER + 4);
  const collection = raw.toString('utf8', HEADER + 4, nameEnd);
  const at = nameEnd + 1 + 8;
  const size = raw.readInt32LE(at);
  return { flags, collection, query: deserialize(raw.subarray(at, at + size), KEEP_TYPES) };
}

export function encodeOpQuery(q: OpQuery, requestId: number): Buffer {
  const flags = Buffer.alloc(4);
  flags.writeInt32LE(q.flags, 0);
  const counts = Buffer.alloc(8);
  counts.writeInt32LE(-1, 4); // numberToReturn -1: one document, as drivers send commands
  const payload = Buffer.concat([
    flags,
    Buffer.from(`${q.collection}\0`, 'utf8'),
    counts,
    serialize(q.query),
  ]);
  return Buffer.concat([header(HEADER + payload.length, requestId, 0, OP_QUERY), payload]);
}

/** The one document of an OP_REPLY (the answer to an OP_QUERY command). */
export function decodeOpReply(frame: Frame): { flags: number; document: Document } {
  const raw = frame.raw;
  const at = HEADER + 20; // responseFlags, cursorID, startingFrom, numberReturned
  const size = raw.readInt32LE(at);
  return { flags: raw.readInt32LE(HEADER), document: deserialize(raw.subarray(at, at + size), KEEP_TYPES) };
}

export function encodeOpReply(document: Document, requestId: number, responseTo: number, flags = 0): Buffer {
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(flags, 0);
  fields.writeInt32LE(1, 16); // numberReturned
  const payload = Buffer.concat([fields, serialize(document)]);
  return Buffer.concat([header(HEADER + payload.length, requestId, responseTo, OP_REPLY), payload]);
}
