import net from 'node:net';
import { type Document, Long, ObjectId } from 'bson';
import { describe, expect, it } from 'vitest';
import {
  commandsOf,
  countsBetween,
  MongoCountingProxy,
  newConnection,
  readCommand,
  WireCounter,
  written,
} from './mongo-counter.js';
import { decodeOpMsg, encodeOpMsg, encodeOpQuery, type Frame, FrameReader } from './mongo-wire.js';

const frameOf = (raw: Buffer): Frame => new FrameReader().push(raw)[0]!;
const request = (
  body: Document,
  requestId: number,
  sequences: Array<{ identifier: string; documents: Document[] }> = [],
) => frameOf(encodeOpMsg({ flags: 0, body, sequences }, requestId, 0));
const reply = (body: Document, responseTo: number) =>
  frameOf(encodeOpMsg({ flags: 0, body, sequences: [] }, 9000 + responseTo, responseTo));

describe('reading a command without decoding it', () => {
  it('finds the name, collection, database and statements behind any field type', () => {
    const body = {
      insert: 'inbound_events',
      ordered: false,
      writeConcern: { w: 1 },
      lsid: { id: new ObjectId() },
      txnNumber: Long.fromNumber(7),
      maxTimeMS: 5000,
      comment: null,
      documents: [{ _id: 'a' }, { _id: 'b', n: 1.5 }, { _id: 'c', re: /x/i }],
      $db: 'erp_hub',
    };
    expect(readCommand(request(body, 1))).toEqual({
      name: 'insert',
      collection: 'inbound_events',
      db: 'erp_hub',
      statements: 3,
    });
    // The same documents as a document sequence (kind 1 section).
    const { documents, ...head } = body;
    expect(readCommand(request(head, 2, [{ identifier: 'documents', documents }]))?.statements).toBe(3);
    expect(
      readCommand(request({ findAndModify: 'dedupe', query: { _id: 'x' }, $db: 'erp_hub' }, 3)),
    ).toMatchObject({
      statements: 1,
    });
    expect(readCommand(request({ find: 'entities', filter: {}, $db: 'erp_hub' }, 4))).toMatchObject({
      name: 'find',
      statements: 0,
    });
    expect(
      readCommand(
        request({ getMore: Long.fromNumber(12345), collection: 'monitoring_events', $db: 'erp_hub' }, 5),
      ),
    ).toEqual({ name: 'getMore', collection: 'monitoring_events', db: 'erp_hub', statements: 0 });
  });

  it("takes the client's appName from its handshake, OP_MSG or legacy OP_QUERY", () => {
    const hello = {
      hello: 1,
      client: { application: { name: 'ingest-gateway' }, driver: { name: 'nodejs' } },
      $db: 'admin',
    };
    expect(readCommand(request(hello, 1))).toMatchObject({
      name: 'hello',
      appName: 'ingest-gateway',
      db: 'admin',
    });
    const legacy = frameOf(
      encodeOpQuery(
        {
          flags: 0,
          collection: 'admin.$cmd',
          query: { isMaster: 1, client: { application: { name: 'mapper' } } },
        },
        2,
      ),
    );
    expect(readCommand(legacy)).toMatchObject({ name: 'isMaster', appName: 'mapper', db: 'admin' });
  });
});

describe('counting documents written from the replies', () => {
  it('counts per collection and client: inserted n, modified, upserted, deleted, findAndModify', () => {
    const counter = new WireCounter();
    const conn = newConnection();
    const send = (body: Document, id: number, answer?: Document) => {
      counter.request(conn, request({ ...body, $db: 'erp_hub' }, id));
      if (answer) counter.reply(conn, reply(answer, id));
    };
    send({ hello: 1, client: { application: { name: 'gw' } } }, 1, { ok: 1 });
    // 3 documents sent, 1 a duplicate: the server wrote 2.
    send({ insert: 'dedupe', documents: [{ _id: 1 }, { _id: 2 }, { _id: 3 }] }, 2, {
      n: 2,
      writeErrors: [{ index: 1, code: 11000 }],
      ok: 1,
    });
    send(
      {
        update: 'entities',
        updates: [
          { q: {}, u: {} },
          { q: {}, u: {}, upsert: true },
        ],
      },
      3,
      {
        n: 2,
        nModified: 1,
        upserted: [{ index: 1, _id: 'e2' }],
        ok: 1,
      },
    );
    send({ delete: 'dedupe', deletes: [{ q: {}, limit: 0 }] }, 4, { n: 5, ok: 1 });
    send({ findAndModify: 'entities', query: {}, update: {} }, 5, {
      lastErrorObject: { n: 1, updatedExisting: true },
      ok: 1,
    });
    send({ findAndModify: 'entities', query: {}, update: {}, upsert: true }, 6, {
      lastErrorObject: { n: 1, updatedExisting: false, upserted: 'e9' },
      ok: 1,
    });
    send({ find: 'entities', filter: {} }, 7, { cursor: { firstBatch: [{ _id: 'x' }], id: 0 }, ok: 1 });
    // A failed command writes nothing.
    send({ insert: 'dedupe', documents: [{ _id: 4 }] }, 8, { ok: 0, errmsg: 'no' });

    const counts = counter.snapshot();
    expect(counts.collections['erp_hub.dedupe']).toEqual({
      commands: { insert: 2, delete: 1 },
      statements: 5,
      inserted: 2,
      modified: 0,
      upserted: 0,
      deleted: 5,
    });
    expect(counts.collections['erp_hub.entities']).toEqual({
      commands: { update: 1, findAndModify: 2, find: 1 },
      statements: 4,
      inserted: 0,
      modified: 2,
      upserted: 2,
      deleted: 0,
    });
    expect(written(counts.collections['erp_hub.entities']!)).toBe(4);
    // The handshake is not work: left out of the client's commands and of commandsOf.
    expect(counts.clients).toEqual({ gw: { commands: 7, written: 11 } });
    expect(commandsOf(counts.collections['erp_hub.']!)).toBe(0);
    expect(commandsOf(counts.collections['erp_hub.']!, true)).toBe(1);
  });

  it('gives what happened between two readings', () => {
    const counter = new WireCounter();
    const conn = newConnection();
    counter.request(conn, request({ insert: 'c', documents: [{ _id: 1 }], $db: 'd' }, 1));
    counter.reply(conn, reply({ n: 1, ok: 1 }, 1));
    const before = counter.snapshot();
    counter.request(conn, request({ insert: 'c', documents: [{ _id: 2 }, { _id: 3 }], $db: 'd' }, 2));
    counter.reply(conn, reply({ n: 2, ok: 1 }, 2));
    counter.request(conn, request({ ping: 1, $db: 'admin' }, 3));
    const between = countsBetween(before, counter.snapshot());
    expect(between.collections).toEqual({
      'd.c': { commands: { insert: 1 }, statements: 2, inserted: 2, modified: 0, upserted: 0, deleted: 0 },
      'admin.': { commands: { ping: 1 }, statements: 0, inserted: 0, modified: 0, upserted: 0, deleted: 0 },
    });
    expect(between.clients).toEqual({ '?': { commands: 1, written: 2 } });
  });
});

describe('command round trips (issue 22)', () => {
  it('times each command from its request to its reply, by client and collection, leaving heartbeats out', () => {
    let clock = 1_000;
    const counter = new WireCounter(() => clock);
    const conn = newConnection();
    counter.request(
      conn,
      request({ hello: 1, client: { application: { name: 'writer' } }, $db: 'admin' }, 1),
    );
    counter.reply(conn, reply({ ok: 1 }, 1));
    counter.request(conn, request({ find: 'entities', filter: {}, $db: 'erp_hub' }, 2));
    counter.request(conn, request({ update: 'entities', updates: [{ q: {}, u: {} }], $db: 'erp_hub' }, 3));
    clock += 4;
    counter.reply(conn, reply({ ok: 1, cursor: { id: 0, firstBatch: [] } }, 2));
    clock += 16;
    counter.reply(conn, reply({ ok: 1, n: 1, nModified: 1 }, 3));
    counter.request(conn, request({ ping: 1, $db: 'admin' }, 4));
    counter.reply(conn, reply({ ok: 1 }, 4));
    expect(counter.timingsBetween(0, 2_000)).toEqual([
      { at: 1_000, ms: 4, app: 'writer', key: 'erp_hub.entities', command: 'find' },
      { at: 1_000, ms: 20, app: 'writer', key: 'erp_hub.entities', command: 'update' },
    ]);
    expect(counter.timingsBetween(1_001, 2_000)).toEqual([]);
    // The counts are as before: the update's document is counted from its reply.
    expect(counter.snapshot().collections['erp_hub.entities']!.modified).toBe(1);
  });
});

describe('the counting proxy', () => {
  it('forwards both ways unchanged and counts what passed', async () => {
    // A stand-in server that answers every insert with n = its number of documents.
    const server = net.createServer((socket) => {
      const reader = new FrameReader();
      socket.on('data', (chunk: Buffer) => {
        for (const frame of reader.push(chunk)) {
          const docs = decodeOpMsg(frame, true).body.documents as unknown[];
          socket.write(
            encodeOpMsg({ flags: 0, body: { n: docs.length, ok: 1 }, sequences: [] }, 1, frame.requestId),
          );
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxy = await MongoCountingProxy.start({
      upstream: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    });
    try {
      const socket = net.connect(proxy.port, proxy.host);
      const answers = new FrameReader();
      const got = new Promise<Frame>((resolve) =>
        socket.on('data', (chunk: Buffer) => {
          const [frame] = answers.push(chunk);
          if (frame) resolve(frame);
        }),
      );
      const sent = encodeOpMsg(
        { flags: 0, body: { insert: 'c', documents: [{ a: 1 }, { a: 2 }], $db: 'd' }, sequences: [] },
        42,
        0,
      );
      // In two pieces: the proxy frames the stream whatever the chunks.
      socket.write(sent.subarray(0, 10));
      setTimeout(() => socket.write(sent.subarray(10)), 20);
      const answer = await got;
      expect(answer.responseTo).toBe(42);
      expect(decodeOpMsg(answer, true).body).toEqual({ n: 2, ok: 1 });
      expect(proxy.counter.snapshot().collections['d.c']).toMatchObject({
        commands: { insert: 1 },
        statements: 2,
        inserted: 2,
      });
      socket.destroy();
    } finally {
      await proxy.close();
      server.close();
    }
  });
});
