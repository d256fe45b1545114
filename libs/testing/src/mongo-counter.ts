// Counting at the database's door (issue 22): a MongoDB wire-protocol proxy that forwards every byte
// unchanged and counts what passes, per client application, database and collection: commands by name,
// write statements sent, and the documents the server reports written (inserted, modified, upserted,
// deleted). The benchmark routes the services' connection through it and divides by processed events.
import net from 'node:net';
import { type Document, deserialize } from 'bson';
import { CHECKSUM_PRESENT, decodeOpMsg, type Frame, FrameReader, OP_MSG, OP_QUERY } from './mongo-wire.js';

/** What was sent to and done in one collection (`<db>.<collection>`). */
export interface CollectionCounts {
  /** Commands by name. */
  commands: Record<string, number>;
  /** Write statements sent: documents of an insert, statements of an update or delete, 1 per findAndModify. */
  statements: number;
  /** Documents the server reports: inserted (`n` of insert), modified (`nModified`), upserted, deleted (`n`). */
  inserted: number;
  modified: number;
  upserted: number;
  deleted: number;
}

export interface WireCounts {
  /** By `<db>.<collection>`; commands that name no collection under `<db>.` (e.g. `admin.`). */
  collections: Record<string, CollectionCounts>;
  /** By the client's `appName` (`?` when its handshake named none): commands and documents written. */
  clients: Record<string, { commands: number; written: number }>;
  /** Messages that are not OP_MSG/OP_QUERY commands (e.g. OP_COMPRESSED): counted, not looked into. */
  opaque: number;
  /**
   * Messages the counter could not read (a malformed frame, or a stream it lost track of): forwarded
   * all the same, but the counts are incomplete when this is not 0.
   */
  unreadable: number;
}

/**
 * Commands that are not work asked for by the application: the driver's handshakes and heartbeats
 * (time-based, not per event), authentication, session clean-up.
 */
export const OVERHEAD_COMMANDS: ReadonlySet<string> = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'buildInfo',
  'buildinfo',
  'saslStart',
  'saslContinue',
  'endSessions',
  'getParameter',
]);

/** The four write commands whose replies say how many documents they wrote. */
const WRITES: Record<string, string> = {
  insert: 'documents',
  update: 'updates',
  delete: 'deletes',
  findAndModify: '',
  findandmodify: '',
};

export function emptyCounts(): WireCounts {
  return { collections: {}, clients: {}, opaque: 0, unreadable: 0 };
}

const emptyCollection = (): CollectionCounts => ({
  commands: {},
  statements: 0,
  inserted: 0,
  modified: 0,
  upserted: 0,
  deleted: 0,
});

/** Documents written in a collection: inserted + modified + upserted + deleted. */
export const written = (c: CollectionCounts): number => c.inserted + c.modified + c.upserted + c.deleted;

/** Commands sent to a collection, the overhead ones (OVERHEAD_COMMANDS) left out unless `all`. */
export const commandsOf = (c: CollectionCounts, all = false): number =>
  Object.entries(c.commands).reduce((s, [name, n]) => s + (all || !OVERHEAD_COMMANDS.has(name) ? n : 0), 0);

/** `after` minus `before` (counters only grow): what happened between two readings. */
export function countsBetween(before: WireCounts, after: WireCounts): WireCounts {
  const out = emptyCounts();
  for (const [key, a] of Object.entries(after.collections)) {
    const b = before.collections[key] ?? emptyCollection();
    const d = emptyCollection();
    for (const [name, n] of Object.entries(a.commands)) {
      const delta = n - (b.commands[name] ?? 0);
      if (delta > 0) d.commands[name] = delta;
    }
    d.statements = a.statements - b.statements;
    d.inserted = a.inserted - b.inserted;
    d.modified = a.modified - b.modified;
    d.upserted = a.upserted - b.upserted;
    d.deleted = a.deleted - b.deleted;
    if (Object.keys(d.commands).length > 0 || d.statements > 0 || written(d) > 0) out.collections[key] = d;
  }
  for (const [app, a] of Object.entries(after.clients)) {
    const b = before.clients[app] ?? { commands: 0, written: 0 };
    const d = { commands: a.commands - b.commands, written: a.written - b.written };
    if (d.commands > 0 || d.written > 0) out.clients[app] = d;
  }
  out.opaque = after.opaque - before.opaque;
  out.unreadable = after.unreadable - before.unreadable;
  return out;
}

/** One client connection's state: who it is, and its commands waiting for their replies (since when). */
export interface CounterConnection {
  appName: string | undefined;
  pending: Map<number, { key: string; command: string; at: number }>;
}

/**
 * One command's round trip as the proxy saw it (issue 22, the latency goals): from its request's last
 * byte to its reply's, so the database's time plus the proxy's own hop. Handshakes and heartbeats are
 * left out.
 */
export interface CommandTiming {
  /** When the request passed (`performance.now()` of the proxy's process). */
  at: number;
  ms: number;
  /** The client's `appName` (`?` when its handshake named none). */
  app: string;
  /** `<db>.<collection>`. */
  key: string;
  command: string;
}

/** Timings kept at most (the oldest half is dropped past it): far more than a benchmark's phase sends. */
const TIMINGS_KEPT = 500_000;

export const newConnection = (): CounterConnection => ({ appName: undefined, pending: new Map() });

/**
 * The counting itself, on whole messages (no sockets: the proxy below feeds it). `request` for every
 * message from a client, `reply` for every message from the server.
 */
export class WireCounter {
  private counts: WireCounts = emptyCounts();
  private timings: CommandTiming[] = [];
  /** The clock of the timings; tests set it. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The round trips of the commands whose requests passed between `from` and `to` (`performance.now()`). */
  timingsBetween(from: number, to: number): CommandTiming[] {
    return this.timings.filter((t) => t.at >= from && t.at <= to);
  }

  /** A copy of everything counted so far. */
  snapshot(): WireCounts {
    return structuredClone(this.counts);
  }

  request(conn: CounterConnection, frame: Frame): void {
    const cmd = readCommand(frame);
    if (!cmd) {
      this.counts.opaque++;
      return;
    }
    if (cmd.appName !== undefined) conn.appName ??= cmd.appName;
    const key = `${cmd.db ?? '?'}.${cmd.collection ?? ''}`;
    const c = this.collection(key);
    c.commands[cmd.name] = (c.commands[cmd.name] ?? 0) + 1;
    const client = this.client(conn);
    if (!OVERHEAD_COMMANDS.has(cmd.name)) client.commands++;
    if (cmd.name in WRITES) c.statements += cmd.statements;
    if (cmd.name in WRITES || !OVERHEAD_COMMANDS.has(cmd.name))
      conn.pending.set(frame.requestId, { key, command: cmd.name, at: this.now() });
  }

  reply(conn: CounterConnection, frame: Frame): void {
    const asked = conn.pending.get(frame.responseTo);
    if (!asked) return;
    conn.pending.delete(frame.responseTo);
    if (this.timings.length >= TIMINGS_KEPT) this.timings = this.timings.slice(TIMINGS_KEPT / 2);
    this.timings.push({
      at: asked.at,
      ms: this.now() - asked.at,
      app: conn.appName ?? '?',
      key: asked.key,
      command: asked.command,
    });
    if (frame.opCode !== OP_MSG || !(asked.command in WRITES)) return;
    const body = replyBody(frame);
    if (body?.ok !== 1) return;
    const c = this.collection(asked.key);
    const before = written(c);
    const n = Number(body.n ?? 0);
    switch (asked.command) {
      case 'insert':
        c.inserted += n;
        break;
      case 'update': {
        const upserted = Array.isArray(body.upserted) ? body.upserted.length : 0;
        c.upserted += upserted;
        c.modified += Number(body.nModified ?? 0);
        break;
      }
      case 'delete':
        c.deleted += n;
        break;
      default: {
        // findAndModify: lastErrorObject.n is the document found (and changed or removed), or upserted.
        const last = body.lastErrorObject as { n?: number; upserted?: unknown } | undefined;
        if (last?.upserted !== undefined) c.upserted += 1;
        else c.modified += Number(last?.n ?? 0);
      }
    }
    this.client(conn).written += written(c) - before;
  }

  /** A message that could not be read (it was forwarded all the same). */
  unreadable(): void {
    this.counts.unreadable++;
  }

  private collection(key: string): CollectionCounts {
    const existing = this.counts.collections[key];
    if (existing) return existing;
    const fresh = emptyCollection();
    this.counts.collections[key] = fresh;
    return fresh;
  }

  private client(conn: CounterConnection) {
    const app = conn.appName ?? '?';
    const existing = this.counts.clients[app];
    if (existing) return existing;
    const fresh = { commands: 0, written: 0 };
    this.counts.clients[app] = fresh;
    return fresh;
  }
}

function replyBody(frame: Frame): Record<string, unknown> | undefined {
  const raw = frame.raw;
  const flags = raw.readUInt32LE(16);
  if (flags & CHECKSUM_PRESENT) return undefined;
  if (raw[20] !== 0) return undefined; // a reply is one kind 0 section
  const size = raw.readInt32LE(21);
  return deserialize(raw.subarray(21, 21 + size));
}

interface ReadCommand {
  name: string;
  collection?: string;
  db?: string;
  /** Documents of an insert / statements of an update or delete (body array or document sequence); 1 for findAndModify. */
  statements: number;
  appName?: string;
}

/**
 * A command's name, collection, database and number of write statements, read by walking the BSON
 * without decoding it (the documents of an insert are never deserialised); the handshake's `appName`.
 */
export function readCommand(frame: Frame): ReadCommand | undefined {
  const raw = frame.raw;
  let bodyAt: number;
  let sequenceStatements = 0;
  let queryDb: string | undefined;
  if (frame.opCode === OP_MSG) {
    const flags = raw.readUInt32LE(16);
    const end = raw.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
    bodyAt = -1;
    for (let at = 20; at < end; ) {
      if (raw[at] === 0) {
        bodyAt = at + 1;
        at = bodyAt + raw.readInt32LE(bodyAt);
      } else if (raw[at] === 1) {
        const size = raw.readInt32LE(at + 1);
        const idEnd = raw.indexOf(0, at + 5);
        for (let d = idEnd + 1; d < at + 1 + size; d += raw.readInt32LE(d)) sequenceStatements++;
        at += 1 + size;
      } else {
        return undefined;
      }
    }
    if (bodyAt < 0) return undefined;
  } else if (frame.opCode === OP_QUERY) {
    const nameEnd = raw.indexOf(0, 20);
    queryDb = raw.toString('utf8', 20, nameEnd).split('.')[0];
    bodyAt = nameEnd + 1 + 8;
  } else {
    return undefined; // OP_COMPRESSED and the rest
  }
  const out: ReadCommand = { name: '', statements: 0 };
  let first = true;
  walkDocument(raw, bodyAt, (type, key, valueAt, valueEnd) => {
    if (first) {
      first = false;
      out.name = key;
      if (type === 2) out.collection = bsonString(raw, valueAt);
      if (key === 'findAndModify' || key === 'findandmodify') out.statements = 1;
      return;
    }
    if (key === '$db' && type === 2) out.db = bsonString(raw, valueAt);
    // getMore names its cursor first and its collection in `collection`.
    else if (key === 'collection' && type === 2 && out.name === 'getMore') {
      out.collection = bsonString(raw, valueAt);
    } else if (type === 4 && key === WRITES[out.name]) out.statements = countElements(raw, valueAt);
    else if (type === 3 && key === 'client' && isHello(out.name)) {
      const app = deserialize(raw.subarray(valueAt, valueEnd)) as { application?: { name?: unknown } };
      if (typeof app.application?.name === 'string') out.appName = app.application.name;
    }
  });
  if (!out.name) return undefined;
  out.db ??= queryDb;
  if (out.name in WRITES && WRITES[out.name]) out.statements += sequenceStatements;
  return out;
}

const isHello = (name: string) => name === 'hello' || name === 'isMaster' || name === 'ismaster';

const bsonString = (raw: Buffer, at: number) =>
  raw.toString('utf8', at + 4, at + 4 + raw.readInt32LE(at) - 1);

/** Elements of the BSON array (or document) at `at`. */
function countElements(raw: Buffer, at: number): number {
  let n = 0;
  walkDocument(raw, at, () => {
    n++;
  });
  return n;
}

/** Calls `visit` with each top-level element of the BSON document at `at`: its type, key and value span. */
function walkDocument(
  raw: Buffer,
  at: number,
  visit: (type: number, key: string, valueAt: number, valueEnd: number) => void,
): void {
  const end = at + raw.readInt32LE(at) - 1; // the document's trailing 0
  let p = at + 4;
  while (p < end) {
    const type = raw[p]!;
    const keyEnd = raw.indexOf(0, p + 1);
    if (keyEnd < 0) throw new Error(`not a BSON document at ${at}: unterminated key`);
    const key = raw.toString('utf8', p + 1, keyEnd);
    const valueAt = keyEnd + 1;
    const valueEnd = valueAt + valueSize(raw, type, valueAt);
    visit(type, key, valueAt, valueEnd);
    p = valueEnd;
  }
}

/** Bytes of one BSON value of `type` starting at `at` (bsonspec.org). */
function valueSize(raw: Buffer, type: number, at: number): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // UTC datetime
    case 0x11: // timestamp
    case 0x12: // int64
      return 8;
    case 0x02: // string
    case 0x0d: // JavaScript code
    case 0x0e: // symbol
      return 4 + raw.readInt32LE(at);
    case 0x03: // document
    case 0x04: // array
    case 0x0f: // code with scope
      return raw.readInt32LE(at);
    case 0x05: // binary: length, subtype, bytes
      return 4 + 1 + raw.readInt32LE(at);
    case 0x06: // undefined
    case 0x0a: // null
    case 0xff: // min key
    case 0x7f: // max key
      return 0;
    case 0x07: // ObjectId
      return 12;
    case 0x08: // boolean
      return 1;
    case 0x0b: {
      // regular expression: two cstrings
      const patternEnd = raw.indexOf(0, at);
      return raw.indexOf(0, patternEnd + 1) + 1 - at;
    }
    case 0x0c: // DBPointer: string, 12-byte id
      return 4 + raw.readInt32LE(at) + 12;
    case 0x10: // int32
      return 4;
    case 0x13: // decimal128
      return 16;
    default:
      throw new Error(`unknown BSON type 0x${type.toString(16)} at ${at}`);
  }
}

/** A client's command as sent: its body (kind 0 section) and its document sequences by identifier. */
export type CommandListener = (body: Document, sequences: Record<string, Document[]>) => void;

/**
 * A plain forwarding proxy in front of a MongoDB server (FerretDB here) that counts what passes
 * (`WireCounter`). Unlike MongoFaultInjector it changes nothing: the server is seen as it is (a
 * standalone FerretDB stays standalone), bytes are forwarded as they arrive, and the counting reads
 * copies of the frames on the side.
 */
export class MongoCountingProxy {
  readonly counter = new WireCounter();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
    private readonly onCommand?: CommandListener,
  ) {}

  /**
   * `onCommand`, when given, receives every OP_MSG command a client sends, decoded (its body and its
   * document sequences by identifier): for tests that hold the queries sent against something
   * (`unservedQueries` of @hub/mongo). Decoding costs what the counting alone avoids; the bench gives none.
   */
  static async start(options: {
    upstream: string;
    host?: string;
    port?: number;
    onCommand?: CommandListener;
  }): Promise<MongoCountingProxy> {
    const m = /^(.+):(\d+)$/.exec(options.upstream);
    if (!m) throw new Error(`upstream must be host:port, not "${options.upstream}"`);
    const [upHost, upPort] = [m[1]!, Number(m[2])];
    const host = options.host ?? '127.0.0.1';
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const proxy = new MongoCountingProxy(
      server,
      host,
      (server.address() as net.AddressInfo).port,
      options.onCommand,
    );
    server.on('connection', (client) => proxy.accept(client, upHost, upPort));
    return proxy;
  }

  /** A connection string to it, e.g. `mongodb://127.0.0.1:22019/erp_hub`. */
  url(database = 'erp_hub'): string {
    return `mongodb://${this.host}:${this.port}/${database}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, upHost: string, upPort: number): void {
    const upstream = net.connect(upPort, upHost);
    const conn = newConnection();
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.setNoDelay(true);
    }
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
    const fromClient = new FrameReader();
    const fromServer = new FrameReader();
    // Forward first, count on the side: a message the counter cannot read is forwarded all the same
    // (and counted as unreadable; a stream whose framing is lost is no longer counted).
    const side = (reader: FrameReader, count: (frame: Frame) => void) => {
      let lost = false;
      return (chunk: Buffer) => {
        if (lost) return this.counter.unreadable();
        let frames: Frame[];
        try {
          frames = reader.push(chunk);
        } catch {
          lost = true;
          return this.counter.unreadable();
        }
        for (const frame of frames) {
          try {
            count(frame);
          } catch {
            this.counter.unreadable();
          }
        }
      };
    };
    const countRequest = side(fromClient, (f) => {
      this.counter.request(conn, f);
      if (this.onCommand && f.opCode === OP_MSG) {
        const { body, sequences } = decodeOpMsg(f, true);
        this.onCommand(body, Object.fromEntries(sequences.map((q) => [q.identifier, q.documents])));
      }
    });
    const countReply = side(fromServer, (f) => this.counter.reply(conn, f));
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      countRequest(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      countReply(chunk);
    });
  }
}
