import net from 'node:net';
import { type Document, Long } from 'bson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asReplicaSetMember, electionId, FailPoint, serverLabels } from './mongo-faults.js';
import { MongoFaultInjector } from './mongo-injector.js';
import {
  commandName,
  decodeOpMsg,
  decodeOpQuery,
  decodeOpReply,
  encodeOpMsg,
  encodeOpQuery,
  encodeOpReply,
  type Frame,
  FrameReader,
  OP_MSG,
  OP_QUERY,
} from './mongo-wire.js';
import { seededRandom } from './random.js';

const frameOf = (raw: Buffer): Frame => new FrameReader().push(raw)[0]!;
const msg = (
  body: Document,
  requestId = 1,
  sequences: Array<{ identifier: string; documents: Document[] }> = [],
) => encodeOpMsg({ flags: 0, body, sequences }, requestId, 0);

describe('wire framing', () => {
  it('cuts a stream into messages whatever the chunks, and keeps a partial one for later', () => {
    const a = msg({ ping: 1 }, 1);
    const b = msg({ insert: 'x', $db: 'd' }, 2, [{ identifier: 'documents', documents: [{ _id: 1 }] }]);
    const stream = Buffer.concat([a, b]);
    const reader = new FrameReader();
    const frames = [
      ...reader.push(stream.subarray(0, 3)),
      ...reader.push(stream.subarray(3, a.length + 5)),
      ...reader.push(stream.subarray(a.length + 5)),
    ];
    expect(frames.map((f) => [f.requestId, f.opCode, f.raw.length])).toEqual([
      [1, OP_MSG, a.length],
      [2, OP_MSG, b.length],
    ]);
    expect(reader.push(Buffer.alloc(0))).toEqual([]);
  });

  it('refuses a length no MongoDB message has', () => {
    const bad = Buffer.alloc(16);
    bad.writeInt32LE(3, 0);
    expect(() => new FrameReader().push(bad)).toThrow('not a MongoDB message: length 3');
  });

  it('reads the command name without decoding, also behind a document sequence', () => {
    const withSequence = encodeOpMsg(
      {
        flags: 0,
        body: { insert: 'c', $db: 'd' },
        sequences: [{ identifier: 'documents', documents: [{ a: 1 }] }],
      },
      5,
      0,
    );
    // Put the kind 1 section first, as a driver may.
    const raw = withSequence;
    const bodyLen = raw.readInt32LE(21);
    const reordered = Buffer.concat([
      raw.subarray(0, 20),
      raw.subarray(21 + bodyLen),
      raw.subarray(20, 21 + bodyLen),
    ]);
    expect(commandName(frameOf(reordered))).toBe('insert');
    expect(decodeOpMsg(frameOf(reordered)).sequences[0]!.documents).toHaveLength(1);
    expect(
      commandName(frameOf(encodeOpQuery({ flags: 0, collection: 'admin.$cmd', query: { isMaster: 1 } }, 9))),
    ).toBe('isMaster');
  });

  it('round-trips OP_MSG, OP_QUERY and OP_REPLY keeping BSON types', () => {
    const body = { insert: 'c', txnNumber: Long.fromNumber(7), n: 1.5, $db: 'd' };
    const decoded = decodeOpMsg(
      frameOf(msg(body, 3, [{ identifier: 'documents', documents: [{ _id: 'a' }] }])),
    );
    expect(decoded.body.txnNumber).toBeInstanceOf(Long);
    expect(encodeOpMsg(decoded, 3, 0)).toEqual(
      msg(body, 3, [{ identifier: 'documents', documents: [{ _id: 'a' }] }]),
    );
    const query = decodeOpQuery(
      frameOf(encodeOpQuery({ flags: 4, collection: 'admin.$cmd', query: { isMaster: 1 } }, 4)),
    );
    expect(query).toMatchObject({ flags: 4, collection: 'admin.$cmd' });
    const reply = frameOf(encodeOpReply({ ok: 1 }, 10, 4));
    expect(reply.responseTo).toBe(4);
    expect(Number(decodeOpReply(reply).document.ok)).toBe(1);
  });
});

describe('the replica set member it presents', () => {
  const rs = { me: '127.0.0.1:1234', setName: 'rs0', setVersion: 1, term: 3 };
  const ferretHello = { isWritablePrimary: true, maxWireVersion: 21, compression: ['zlib'], ok: 1 };

  it('is the primary of a one-member set, without compression', () => {
    const hello = asReplicaSetMember(ferretHello, rs, true);
    expect(hello).toMatchObject({
      isWritablePrimary: true,
      secondary: false,
      setName: 'rs0',
      hosts: ['127.0.0.1:1234'],
      me: '127.0.0.1:1234',
      primary: '127.0.0.1:1234',
      maxWireVersion: 21,
    });
    expect(hello.electionId.toHexString()).toBe('7fffffff0000000000000003');
    expect(hello).not.toHaveProperty('compression');
    expect(Number(hello.logicalSessionTimeoutMinutes)).toBe(30);
  });

  it('is a secondary with no primary during an election; a later term has a greater electionId', () => {
    const hello = asReplicaSetMember({ ismaster: true, ok: 1 }, rs, false);
    expect(hello).toMatchObject({ ismaster: false, secondary: true, hosts: ['127.0.0.1:1234'] });
    expect(hello).not.toHaveProperty('primary');
    expect(hello).not.toHaveProperty('electionId');
    expect(electionId(4).toHexString() > electionId(3).toHexString()).toBe(true);
  });
});

describe('the failCommand fail point', () => {
  it('fires `times` times for the named commands only, and counts', () => {
    const fp = new FailPoint();
    fp.configure({ mode: { times: 2 }, data: { failCommands: ['insert'], errorCode: 10107 } });
    expect(fp.fire('find', undefined)).toBeUndefined();
    expect(fp.fire('insert', undefined)?.errorCode).toBe(10107);
    expect(fp.fire('insert', undefined)).toBeDefined();
    expect(fp.fire('insert', undefined)).toBeUndefined();
    expect(fp.active).toBe(false);
    expect(fp.configure({ mode: 'off' })).toBe(2);
  });

  it('skips, draws with activationProbability, and keeps to an appName', () => {
    const skip = new FailPoint();
    skip.configure({ mode: { skip: 1 }, data: { failCommands: ['update'], appName: 'entity-writer' } });
    expect(skip.fire('update', 'entity-writer')).toBeUndefined();
    expect(skip.fire('update', 'ingest-gateway')).toBeUndefined();
    expect(skip.fire('update', 'entity-writer')).toBeDefined();
    expect(skip.fire('update', 'entity-writer')).toBeDefined();
    const half = new FailPoint(seededRandom(1));
    half.configure({ mode: { activationProbability: 0.5 }, data: { failCommands: ['insert'] } });
    const fired = Array.from({ length: 200 }, () => half.fire('insert', undefined)).filter(Boolean).length;
    expect(fired).toBeGreaterThan(60);
    expect(fired).toBeLessThan(140);
  });

  it('refuses a fail point without commands or with a probability beyond 1', () => {
    const fp = new FailPoint();
    expect(() => fp.configure({ mode: 'alwaysOn', data: { failCommands: [] } })).toThrow('failCommands');
    expect(() =>
      fp.configure({ mode: { activationProbability: 2 }, data: { failCommands: ['insert'] } }),
    ).toThrow('activationProbability 2');
  });

  it('labels RetryableWriteError as MongoDB does: retryable codes on retryable writes (with a txnNumber)', () => {
    expect(serverLabels(10107, 'insert', true)).toEqual(['RetryableWriteError']);
    expect(serverLabels(10107, 'insert', false)).toEqual([]);
    expect(serverLabels(11000, 'insert', true)).toEqual([]);
    expect(serverLabels(10107, 'find', true)).toEqual([]);
  });
});

/** A stand-in server: answers `hello` as FerretDB does and any other command with `{ ok: 1, n: 1 }`. */
async function fakeServer(): Promise<{ port: number; received: string[]; close(): void }> {
  const received: string[] = [];
  const server = net.createServer((socket) => {
    const reader = new FrameReader();
    socket.on('data', (chunk) => {
      for (const frame of reader.push(chunk as Buffer)) {
        const name = commandName(frame) ?? '?';
        received.push(name);
        const body =
          name === 'hello' || name === 'isMaster'
            ? { isWritablePrimary: true, maxWireVersion: 21, ok: 1 }
            : { n: 1, ok: 1 };
        socket.write(
          frame.opCode === OP_QUERY
            ? encodeOpReply({ ismaster: true, ok: 1 }, 100, frame.requestId)
            : encodeOpMsg({ flags: 0, body, sequences: [] }, 100, frame.requestId),
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, received, close: () => server.close() };
}

/** A raw client: sends one message, resolves with the reply's body, or `closed`. */
async function roundTrip(port: number, raw: Buffer): Promise<Document | 'closed'> {
  const socket = net.connect(port, '127.0.0.1');
  const reader = new FrameReader();
  try {
    return await new Promise((resolve) => {
      socket.on('data', (chunk) => {
        const frame = reader.push(chunk as Buffer)[0];
        if (!frame) return;
        resolve(frame.opCode === OP_MSG ? decodeOpMsg(frame, true).body : decodeOpReply(frame).document);
      });
      socket.on('close', () => resolve('closed'));
      socket.write(raw);
    });
  } finally {
    socket.destroy();
  }
}

describe('MongoFaultInjector on the wire', () => {
  let server: Awaited<ReturnType<typeof fakeServer>>;
  let injector: MongoFaultInjector;
  beforeAll(async () => {
    server = await fakeServer();
    injector = await MongoFaultInjector.start({ upstream: `127.0.0.1:${server.port}` });
  });
  afterAll(async () => {
    await injector.close();
    server.close();
  });

  it('rewrites hello (OP_MSG and the legacy OP_QUERY) and forwards other commands untouched', async () => {
    const hello = await roundTrip(injector.port, msg({ hello: 1, $db: 'admin' }));
    expect(hello).toMatchObject({ isWritablePrimary: true, setName: 'rs0', hosts: [injector.address] });
    const legacy = await roundTrip(
      injector.port,
      encodeOpQuery({ flags: 0, collection: 'admin.$cmd', query: { isMaster: 1 } }, 7),
    );
    expect(legacy).toMatchObject({ ismaster: true, setName: 'rs0', me: injector.address });
    expect(await roundTrip(injector.port, msg({ find: 'c', $db: 'd' }))).toEqual({ n: 1, ok: 1 });
    expect(await roundTrip(injector.port, msg({ endSessions: [], $db: 'admin' }))).toEqual({ ok: 1 });
    expect(server.received).not.toContain('endSessions');
  });

  it('fails, closes and adds write concern errors as the fail point says, then forwards again', async () => {
    injector.resetStats();
    const insert = msg({ insert: 'c', txnNumber: Long.fromNumber(1), $db: 'd' }, 11, [
      { identifier: 'documents', documents: [{ _id: 'a' }] },
    ]);
    injector.failCommand({ mode: { times: 1 }, data: { failCommands: ['insert'], errorCode: 10107 } });
    expect(await roundTrip(injector.port, insert)).toMatchObject({
      ok: 0,
      code: 10107,
      codeName: 'NotWritablePrimary',
      errorLabels: ['RetryableWriteError'],
    });
    injector.failCommand({ mode: { times: 1 }, data: { failCommands: ['insert'], closeConnection: true } });
    expect(await roundTrip(injector.port, insert)).toBe('closed');
    const wce = { code: 64, errmsg: 'waiting for replication timed out', errInfo: { wtimeout: true } };
    injector.failCommand({ mode: { times: 1 }, data: { failCommands: ['insert'], writeConcernError: wce } });
    const before = server.received.filter((c) => c === 'insert').length;
    expect(await roundTrip(injector.port, insert)).toMatchObject({
      n: 1,
      ok: 1,
      writeConcernError: { ...wce, codeName: 'WriteConcernFailed' },
    });
    expect(server.received.filter((c) => c === 'insert').length).toBe(before + 1); // it ran
    expect(await roundTrip(injector.port, insert)).toEqual({ n: 1, ok: 1 });
    expect(injector.stats).toMatchObject({ failed: 1, closed: 1, writeConcernErrors: 1 });
  });

  it('during an election refuses writes and primary reads and says secondary, then a new primary', async () => {
    const over = injector.election({ seconds: 0.3, code: 11602 });
    expect(await roundTrip(injector.port, msg({ update: 'c', $db: 'd' }))).toMatchObject({
      code: 11602,
      codeName: 'InterruptedDueToReplStateChange',
    });
    expect(await roundTrip(injector.port, msg({ find: 'c', $db: 'd' }))).toMatchObject({ code: 13435 });
    expect(
      await roundTrip(
        injector.port,
        msg({ find: 'c', $readPreference: { mode: 'secondaryPreferred' }, $db: 'd' }),
      ),
    ).toEqual({ n: 1, ok: 1 });
    const during = await roundTrip(injector.port, msg({ hello: 1, $db: 'admin' }));
    expect(during).toMatchObject({ isWritablePrimary: false, secondary: true });
    await over;
    const after = (await roundTrip(injector.port, msg({ hello: 1, $db: 'admin' }))) as Document;
    expect(after).toMatchObject({ isWritablePrimary: true, primary: injector.address });
    expect(await roundTrip(injector.port, msg({ update: 'c', $db: 'd' }))).toEqual({ n: 1, ok: 1 });
  });

  it('takes configureFailPoint and replSetStepDown on the wire and over HTTP, as MongoDB does', async () => {
    const set = await roundTrip(
      injector.port,
      msg({
        configureFailPoint: 'failCommand',
        mode: { times: 1 },
        data: { failCommands: ['delete'], errorCode: 91 },
        $db: 'admin',
      }),
    );
    expect(set).toMatchObject({ ok: 1 });
    expect(await roundTrip(injector.port, msg({ delete: 'c', $db: 'd' }))).toMatchObject({ code: 91 });
    const control = await injector.serveControl();
    const res = await fetch(control, { method: 'POST', body: JSON.stringify({ replSetStepDown: 0.2 }) });
    expect(await res.json()).toEqual({ ok: 1 });
    expect(injector.electing).toBe(true);
    const bad = await fetch(control, {
      method: 'POST',
      body: JSON.stringify({
        configureFailPoint: 'failCommand',
        mode: 'alwaysOn',
        data: { failCommands: [] },
      }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errmsg: string }).errmsg).toContain('failCommands');
    const stats = (await (await fetch(control)).json()) as { commands: Record<string, number> };
    expect(stats.commands.delete).toBeGreaterThan(0);
    injector.endElection();
  });
});
