import net from 'node:net';

/** Kafka API keys the proxy reads (the Kafka protocol guide). */
const PRODUCE = 0;
const METADATA = 3;
const FIND_COORDINATOR = 10;

/**
 * A TCP proxy in front of one real Kafka broker, for faults at the broker boundary that only a network can
 * cause. Clients bootstrap to `address`; the proxy rewrites the broker addresses in Metadata and
 * FindCoordinator answers to its own, so every later connection of the client comes through it as well
 * (one broker: every node id maps to this proxy). Requests and answers are otherwise passed byte for byte.
 *
 * Faults:
 * - `loseProduceAnswers()`: each produce request reaches the broker (which writes the records), then its
 *   answer is dropped and the client's connection cut: the producer cannot tell whether anything was
 *   written. Lasts until `heal()`.
 * - `outage()`: the broker is unreachable: every open connection is cut and new ones are closed at once,
 *   until `heal()` (what a client sees while its only broker restarts).
 * - `coordinatorOutage()`: every open connection is cut; new ones work, but a group-coordinator lookup
 *   (FindCoordinator) cuts its connection, until `heal()`: what a consumer group member sees while the
 *   broker that coordinates its group is restarting and the rest of the cluster still answers.
 * - `dropProduceRequests()`: each produce request is dropped before the broker sees it and the client's
 *   connection cut: nothing is written, and the producer's send fails once its retries run out. Lasts
 *   until `heal()`.
 *
 * Only the non-flexible versions of Metadata (0-8) and FindCoordinator (0-2) are rewritten, which are all
 * kafkajs 2.x sends; a flexible one fails the connection with an error naming the version.
 */
export class KafkaProxy {
  private readonly connections = new Set<net.Socket>();
  private losing = false;
  private refusing = false;
  private noCoordinator = false;
  private dropping = false;
  /** Produce requests forwarded to the broker, how many of their answers were dropped, requests dropped. */
  readonly counts = { produceRequests: 0, lostAnswers: 0, droppedRequests: 0 };

  private constructor(
    private readonly server: net.Server,
    private readonly broker: { host: string; port: number },
    readonly port: number,
  ) {}

  /** `host:port` for the clients' broker list. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (0: any free port) in front of `broker` (`host:port`). */
  static async start(broker: string, port = 0): Promise<KafkaProxy> {
    const [host, brokerPort] = broker.split(':');
    if (!host || !brokerPort || !Number.isInteger(Number(brokerPort))) {
      throw new Error(`KafkaProxy: broker "${broker}" is not host:port`);
    }
    let proxy: KafkaProxy | undefined;
    const server = net.createServer((client) => proxy?.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    proxy = new KafkaProxy(
      server,
      { host, port: Number(brokerPort) },
      (server.address() as net.AddressInfo).port,
    );
    return proxy;
  }

  /** From now on, produce requests are written by the broker but their answers are lost (see the class). */
  loseProduceAnswers(): void {
    this.losing = true;
  }

  /** The broker is unreachable until `heal()` (see the class). */
  outage(): void {
    this.refusing = true;
    this.cutAll();
  }

  /** Group-coordinator lookups fail until `heal()` (see the class). */
  coordinatorOutage(): void {
    this.noCoordinator = true;
    this.cutAll();
  }

  /** From now on, produce requests never reach the broker (see the class). */
  dropProduceRequests(): void {
    this.dropping = true;
  }

  /** Ends every fault. */
  heal(): void {
    this.losing = false;
    this.refusing = false;
    this.noCoordinator = false;
    this.dropping = false;
  }

  /** Cuts every open connection (clients reconnect through the proxy). */
  cutAll(): void {
    for (const socket of this.connections) socket.destroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.broker.port, this.broker.host);
    this.connections.add(client);
    this.connections.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.connections.delete(client);
      this.connections.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    /** What each correlation id asked for, to read its answer. */
    const asked = new Map<number, { apiKey: number; version: number }>();
    frames(client, (frame) => {
      const apiKey = frame.readInt16BE(0);
      const version = frame.readInt16BE(2);
      if (apiKey === PRODUCE && this.dropping) {
        this.counts.droppedRequests++;
        end();
        return;
      }
      asked.set(frame.readInt32BE(4), { apiKey, version });
      if (apiKey === PRODUCE) this.counts.produceRequests++;
      if (apiKey === FIND_COORDINATOR && this.noCoordinator) {
        end();
        return;
      }
      upstream.write(withSize(frame));
    });
    frames(upstream, (frame) => {
      const correlationId = frame.readInt32BE(0);
      const request = asked.get(correlationId);
      asked.delete(correlationId);
      if (request?.apiKey === PRODUCE && this.losing) {
        this.counts.lostAnswers++;
        end();
        return;
      }
      try {
        const answer =
          request?.apiKey === METADATA
            ? this.rewriteMetadata(frame, request.version)
            : request?.apiKey === FIND_COORDINATOR
              ? this.rewriteCoordinator(frame, request.version)
              : frame;
        client.write(withSize(answer));
      } catch (err) {
        client.destroy(err as Error);
        end();
      }
    });
  }

  /** Metadata v0-8: correlation id, [throttle], brokers [node id, host, port, (rack)], then the rest. */
  private rewriteMetadata(frame: Buffer, version: number): Buffer {
    if (version > 8) throw new Error(`KafkaProxy: Metadata v${version} (flexible) is not supported`);
    let at = 4 + (version >= 3 ? 4 : 0);
    const count = frame.readInt32BE(at);
    at += 4;
    const head = frame.subarray(0, at);
    const brokers: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const nodeId = frame.readInt32BE(at);
      at += 4;
      at += 2 + frame.readInt16BE(at); // host
      at += 4; // port
      let rack: Buffer = Buffer.alloc(0);
      if (version >= 1) {
        const length = frame.readInt16BE(at);
        rack = frame.subarray(at, at + 2 + Math.max(length, 0));
        at += 2 + Math.max(length, 0);
      }
      brokers.push(Buffer.concat([int32(nodeId), this.hostAndPort(), rack]));
    }
    return Buffer.concat([head, ...brokers, frame.subarray(at)]);
  }

  /** FindCoordinator v0: error, node id, host, port; v1-2: throttle, error, message, node id, host, port. */
  private rewriteCoordinator(frame: Buffer, version: number): Buffer {
    if (version > 2) throw new Error(`KafkaProxy: FindCoordinator v${version} (flexible) is not supported`);
    let at = 4;
    if (version >= 1) {
      at += 4 + 2; // throttle, error code
      const length = frame.readInt16BE(at);
      at += 2 + Math.max(length, 0); // error message
    } else at += 2;
    const nodeId = frame.readInt32BE(at);
    at += 4;
    const head = frame.subarray(0, at - 4);
    at += 2 + frame.readInt16BE(at); // host
    at += 4; // port
    return Buffer.concat([head, int32(nodeId), this.hostAndPort(), frame.subarray(at)]);
  }

  private hostAndPort(): Buffer {
    const host = Buffer.from('127.0.0.1');
    const length = Buffer.alloc(2);
    length.writeInt16BE(host.length);
    return Buffer.concat([length, host, int32(this.port)]);
  }
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

function withSize(frame: Buffer): Buffer {
  return Buffer.concat([int32(frame.length), frame]);
}

/** Calls `onFrame` with each size-prefixed frame's body read from `socket`. */
function frames(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) break;
      const frame = pending.subarray(4, 4 + size);
      pending = pending.subarray(4 + size);
      onFrame(frame);
    }
  });
}
