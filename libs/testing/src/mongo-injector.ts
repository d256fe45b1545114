import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import net from 'node:net';
import type { Document } from 'bson';
import {
  asReplicaSetMember,
  type ElectionSpec,
  errorReply,
  type FailCommandData,
  type FailCommandSpec,
  FailPoint,
  HELLO_COMMANDS,
  READ_COMMANDS,
  type ReplicaSetIdentity,
  serverLabels,
  WRITE_COMMANDS,
  withWriteConcernError,
} from './mongo-faults.js';
import {
  commandHead,
  decodeOpMsg,
  decodeOpQuery,
  decodeOpReply,
  encodeOpMsg,
  encodeOpReply,
  type Frame,
  FrameReader,
  MORE_TO_COME,
  OP_MSG,
  OP_QUERY,
  OP_REPLY,
  type OpMsg,
} from './mongo-wire.js';

export interface MongoFaultInjectorOptions {
  /** The real server, `host:port` (the local FerretDB). */
  upstream: string;
  /** Where the injector listens; port 0 (default) takes a free one. */
  host?: string;
  port?: number;
  /** The replica set it presents (default `rs0`). */
  setName?: string;
  /** For `activationProbability` (a seeded generator makes a run repeatable). */
  random?: () => number;
}

/** What passed through the injector and what it did, since it started (or `resetStats`). */
export interface InjectorStats {
  /** Commands received, by name. */
  commands: Record<string, number>;
  /** Commands answered with the fail point's error, connections it closed, writes it gave a write concern error. */
  failed: number;
  closed: number;
  writeConcernErrors: number;
  /** Commands refused because of an election. */
  refusedByElection: number;
  connections: number;
}

type Rewrite = (reply: Document) => Document;

/** One command as the injector saw it, in arrival order (`journal`). */
export interface JournalEntry {
  /** `Date.now()` when it arrived. */
  at: number;
  command: string;
  /** The collection, for commands that name one first (`insert`, `find`, `update`...). */
  collection?: string;
  appName?: string;
  /** Forwarded, or what was injected instead (or on top: `writeConcernError`). */
  outcome: 'forwarded' | 'failed' | 'closed' | 'writeConcernError' | 'refusedByElection' | 'answered';
}

/** What `onCommand` is given: the command, whose client, and its message decoded on demand. */
export interface SeenCommand {
  command: string;
  collection?: string;
  appName?: string;
  message(): OpMsg;
}

const JOURNAL_LIMIT = 20_000;

interface Connection {
  client: net.Socket;
  upstream: net.Socket;
  /** `client.application.name` of its handshake (`appName` of the fail point). */
  appName: string | undefined;
  /** Replies to change, by the request id they answer. */
  rewrites: Map<number, Rewrite>;
  queue: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A MongoDB wire-protocol proxy in front of a real server (FerretDB here) that answers as MongoDB does in
 * production: it presents the server as the primary of a one-member replica set (so drivers use sessions,
 * retryable writes and replica-set monitoring), and on command it injects the failures a replica set
 * sends: MongoDB's own `failCommand` fail point (errors with their labels, write concern errors after the
 * write, closed or blocked connections) and elections (writes refused with NotWritablePrimary and the
 * like, `hello` without a primary, then a new primary). Control it in-process (`failCommand`, `election`),
 * over the wire as on MongoDB with `enableTestCommands` (`configureFailPoint`, `replSetStepDown`), or over
 * HTTP (`serveControl`). Everything else is forwarded byte for byte.
 */
export class MongoFaultInjector {
  private readonly failPoint: FailPoint;
  private readonly connections = new Set<Connection>();
  private readonly rs: ReplicaSetIdentity;
  private electionSpec: ElectionSpec | undefined;
  private electionTimer: NodeJS.Timeout | undefined;
  private electionDone: Array<() => void> = [];
  private nextRequestId = 1 << 30;
  private controls = new Set<HttpServer>();
  stats: InjectorStats = emptyStats();
  /** The last commands (up to 20,000), oldest first. */
  readonly journal: JournalEntry[] = [];
  /** Called for every OP_MSG command before anything is done with it (a test's look at what was sent). */
  onCommand: ((seen: SeenCommand) => void) | undefined;

  private constructor(
    private readonly server: net.Server,
    private readonly upstream: { host: string; port: number },
    readonly host: string,
    readonly port: number,
    setName: string,
    random: () => number,
  ) {
    this.failPoint = new FailPoint(random);
    this.rs = { me: `${host}:${port}`, setName, setVersion: 1, term: 1 };
  }

  static async start(options: MongoFaultInjectorOptions): Promise<MongoFaultInjector> {
    const [upHost, upPort] = splitAddress(options.upstream);
    const host = options.host ?? '127.0.0.1';
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as net.AddressInfo).port;
    const injector = new MongoFaultInjector(
      server,
      { host: upHost, port: upPort },
      host,
      port,
      options.setName ?? 'rs0',
      options.random ?? Math.random,
    );
    server.on('connection', (socket) => injector.accept(socket));
    return injector;
  }

  /** `host:port` where drivers reach it (the one member of the replica set it presents). */
  get address(): string {
    return this.rs.me;
  }

  /** A connection string to it, e.g. `mongodb://127.0.0.1:27400/erp_hub`. */
  url(database = 'erp_hub'): string {
    return `mongodb://${this.address}/${database}`;
  }

  get setName(): string {
    return this.rs.setName;
  }

  /** Sets MongoDB's `failCommand` fail point (`mode: 'off'` clears it); returns how often the last one fired. */
  failCommand(spec: FailCommandSpec): number {
    return this.failPoint.configure(spec);
  }

  /** Times the current fail point fired. */
  get failPointEntered(): number {
    return this.failPoint.entered;
  }

  /**
   * Starts an election: for `seconds` there is no primary (see ElectionSpec), then the same server is
   * primary again under a new `electionId`. Resolves when it is over. A second call while one runs
   * restarts the clock.
   */
  election(spec: ElectionSpec): Promise<void> {
    if (!(spec.seconds > 0)) throw new Error(`election: seconds must be positive, not ${spec.seconds}`);
    this.electionSpec = spec;
    clearTimeout(this.electionTimer);
    this.electionTimer = setTimeout(() => this.endElection(), spec.seconds * 1000);
    return new Promise((resolve) => this.electionDone.push(resolve));
  }

  /** Ends an election now (a new primary), if one runs. */
  endElection(): void {
    clearTimeout(this.electionTimer);
    if (this.electionSpec) this.rs.term++;
    this.electionSpec = undefined;
    for (const done of this.electionDone.splice(0)) done();
  }

  get electing(): boolean {
    return this.electionSpec !== undefined;
  }

  /** No fail point, no election. */
  reset(): void {
    this.failPoint.configure({ mode: 'off' });
    this.endElection();
  }

  resetStats(): void {
    this.stats = emptyStats();
  }

  /**
   * The commands the injector answers itself, on the wire or over HTTP: `configureFailPoint` (the
   * `failCommand` fail point only) and `replSetStepDown: <seconds>` (an election; `code` and `hello` of
   * ElectionSpec may be added), as on MongoDB; `injectorStats` for what it did.
   */
  command(doc: Document): Document {
    try {
      if ('configureFailPoint' in doc) {
        if (doc.configureFailPoint !== 'failCommand') {
          return errorReply(
            2,
            [],
            `only the failCommand fail point exists here, not ${doc.configureFailPoint}`,
          );
        }
        return { count: this.failCommand({ mode: doc.mode, data: doc.data }), ok: 1 };
      }
      if ('replSetStepDown' in doc) {
        void this.election({ seconds: Number(doc.replSetStepDown), code: doc.code, hello: doc.hello });
        return { ok: 1 };
      }
      if ('replSetStepUp' in doc) {
        this.endElection();
        return { ok: 1 };
      }
      if ('injectorStats' in doc) return { ...this.stats, electing: this.electing, ok: 1 };
    } catch (err) {
      return errorReply(2, [], (err as Error).message);
    }
    return errorReply(59, [], `no such command: '${Object.keys(doc)[0]}'`);
  }

  /**
   * An HTTP control for a process that does not hold the injector (e.g. a harness running it as its own
   * process): `POST /` with a command of `command()` as JSON answers its result; `GET /` the stats.
   */
  async serveControl(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        let reply: Document;
        let status = 200;
        if (req.method === 'GET') {
          reply = this.command({ injectorStats: 1 });
        } else {
          try {
            reply = this.command(JSON.parse(body) as Document);
            if (reply.ok !== 1) status = 400;
          } catch (err) {
            status = 400;
            reply = { ok: 0, errmsg: `the body is not a JSON command: ${(err as Error).message}` };
          }
        }
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
      });
    });
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    this.controls.add(server);
    return `http://${host}:${(server.address() as net.AddressInfo).port}`;
  }

  /** Closes every connection (both sides) as a server crash would; new ones are accepted. */
  dropConnections(): void {
    for (const conn of this.connections) {
      conn.client.destroy();
      conn.upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.reset();
    this.dropConnections();
    for (const control of this.controls) control.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.upstream.port, this.upstream.host);
    const conn: Connection = {
      client,
      upstream,
      appName: undefined,
      rewrites: new Map(),
      queue: Promise.resolve(),
    };
    this.connections.add(conn);
    this.stats.connections++;
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.connections.delete(conn);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
    const fromClient = new FrameReader();
    const fromServer = new FrameReader();
    client.on('data', (chunk: string | Buffer) => {
      let frames: Frame[];
      try {
        frames = fromClient.push(asBuffer(chunk));
      } catch {
        return drop();
      }
      for (const frame of frames) {
        conn.queue = conn.queue.then(() => this.request(conn, frame)).catch(drop);
      }
    });
    upstream.on('data', (chunk: string | Buffer) => {
      try {
        for (const frame of fromServer.push(asBuffer(chunk))) this.reply(conn, frame);
      } catch {
        drop();
      }
    });
  }

  /** One message from a client: answered here, forwarded (maybe with its answer to change), or cut off. */
  private async request(conn: Connection, frame: Frame): Promise<void> {
    const head = commandHead(frame);
    const name = head?.name ?? null;
    if (name) this.stats.commands[name] = (this.stats.commands[name] ?? 0) + 1;
    const entry: JournalEntry = {
      at: Date.now(),
      command: name ?? `op ${frame.opCode}`,
      outcome: 'forwarded',
    };
    if (head?.target !== undefined) entry.collection = head.target;
    if (conn.appName !== undefined) entry.appName = conn.appName;
    if (this.journal.push(entry) > JOURNAL_LIMIT) this.journal.splice(0, this.journal.length - JOURNAL_LIMIT);
    const outcome = (o: JournalEntry['outcome']) => {
      entry.outcome = o;
    };
    if (frame.opCode === OP_QUERY && name && HELLO_COMMANDS.has(name)) {
      conn.appName ??= appNameOf(decodeOpQuery(frame).query);
      return this.forward(conn, frame, this.helloRewrite());
    }
    if (frame.opCode !== OP_MSG || !name) return this.forward(conn, frame);
    if (HELLO_COMMANDS.has(name)) {
      conn.appName ??= appNameOf(decodeOpMsg(frame).body);
      return this.forward(conn, frame, this.helloRewrite());
    }
    const flags = frame.raw.readUInt32LE(16);
    const answer = (doc: Document) => {
      if (!(flags & MORE_TO_COME))
        conn.client.write(
          encodeOpMsg({ flags: 0, body: doc, sequences: [] }, this.nextRequestId++, frame.requestId),
        );
    };
    if (
      name === 'configureFailPoint' ||
      name === 'replSetStepDown' ||
      name === 'replSetStepUp' ||
      name === 'injectorStats'
    ) {
      outcome('answered');
      return answer(this.command(decodeOpMsg(frame, true).body));
    }
    // FerretDB has no sessions to end; MongoDB answers ok (drivers send it when they close).
    if (name === 'endSessions') {
      outcome('answered');
      return answer({ ok: 1 });
    }
    this.onCommand?.({
      command: name,
      ...(head?.target !== undefined ? { collection: head.target } : {}),
      ...(conn.appName !== undefined ? { appName: conn.appName } : {}),
      message: () => decodeOpMsg(frame),
    });

    const fired = this.failPoint.active ? this.failPoint.fire(name, conn.appName, head?.target) : undefined;
    if (fired) return this.inject(conn, frame, name, fired, answer, outcome);
    const election = this.electionSpec;
    if (election) {
      const body = decodeOpMsg(frame).body;
      if (WRITE_COMMANDS.has(name)) {
        outcome('refusedByElection');
        this.stats.refusedByElection++;
        const code = election.code ?? 10107;
        return answer(errorReply(code, serverLabels(code, name, 'txnNumber' in body)));
      }
      const mode = body.$readPreference?.mode;
      if (READ_COMMANDS.has(name) && (mode === undefined || mode === 'primary')) {
        outcome('refusedByElection');
        this.stats.refusedByElection++;
        return answer(errorReply(13435, []));
      }
    }
    return this.forward(conn, frame);
  }

  /** What MongoDB's fail point does, in its order: block, then close, fail, or run and add a write concern error. */
  private async inject(
    conn: Connection,
    frame: Frame,
    name: string,
    data: FailCommandData,
    answer: (doc: Document) => void,
    outcome: (o: JournalEntry['outcome']) => void,
  ): Promise<void> {
    if (data.blockConnection && data.blockTimeMS) await sleep(data.blockTimeMS);
    if (data.closeConnection) {
      outcome('closed');
      this.stats.closed++;
      conn.client.destroy();
      conn.upstream.destroy();
      return;
    }
    const retryableWrite = 'txnNumber' in decodeOpMsg(frame).body;
    if (data.errorCode !== undefined) {
      outcome('failed');
      this.stats.failed++;
      return answer(
        errorReply(data.errorCode, data.errorLabels ?? serverLabels(data.errorCode, name, retryableWrite)),
      );
    }
    const wce = data.writeConcernError;
    if (wce) {
      outcome('writeConcernError');
      this.stats.writeConcernErrors++;
      return this.forward(conn, frame, (reply) => withWriteConcernError(reply, wce, name, retryableWrite));
    }
    return this.forward(conn, frame);
  }

  private helloRewrite(): Rewrite {
    return (reply) =>
      asReplicaSetMember(reply, this.rs, !this.electionSpec || this.electionSpec.hello === 'primary');
  }

  private forward(conn: Connection, frame: Frame, rewrite?: Rewrite): void {
    if (rewrite) conn.rewrites.set(frame.requestId, rewrite);
    conn.upstream.write(frame.raw);
  }

  /** One message from the server, to the client it answers (changed when its request asked for it). */
  private reply(conn: Connection, frame: Frame): void {
    const rewrite = conn.rewrites.get(frame.responseTo);
    if (!rewrite) {
      conn.client.write(frame.raw);
      return;
    }
    conn.rewrites.delete(frame.responseTo);
    if (frame.opCode === OP_MSG) {
      const msg = decodeOpMsg(frame);
      // An exhaust stream: the next reply answers this one.
      if (msg.flags & MORE_TO_COME) conn.rewrites.set(frame.requestId, rewrite);
      conn.client.write(encodeOpMsg({ ...msg, body: rewrite(msg.body) }, frame.requestId, frame.responseTo));
    } else if (frame.opCode === OP_REPLY) {
      const { flags, document } = decodeOpReply(frame);
      conn.client.write(encodeOpReply(rewrite(document), frame.requestId, frame.responseTo, flags));
    } else {
      conn.client.write(frame.raw);
    }
  }
}

function emptyStats(): InjectorStats {
  return { commands: {}, failed: 0, closed: 0, writeConcernErrors: 0, refusedByElection: 0, connections: 0 };
}

function appNameOf(hello: Document): string | undefined {
  const name = hello.client?.application?.name;
  return typeof name === 'string' ? name : undefined;
}

function splitAddress(address: string): [string, number] {
  const m = /^(.+):(\d+)$/.exec(address);
  if (!m) throw new Error(`upstream must be host:port, not "${address}"`);
  return [m[1]!, Number(m[2])];
}

/** A socket chunk as bytes: no encoding is set on our sockets, so it is a Buffer (the type also allows a string). */
function asBuffer(chunk: string | Buffer): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}
