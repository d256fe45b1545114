import type { Logger } from '@hub/observability';
// Before kafkajs loads: its producer takes the fixed send retries (send-retries.ts) and the faster record
// encoding (fast-encoding.ts).
import './send-retries.js';
import './fast-encoding.js';
import {
  type Admin,
  CompressionTypes,
  type ConfigResourceTypes,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Message,
  type Producer,
  type RecordMetadata,
} from 'kafkajs';
import type { KafkaConnection } from './connection.js';
import { sendTraced } from './instrumentation.js';
import { stablePartitioner } from './partitioner.js';
import { fixRequestQueueScheduling } from './request-queue.js';

// kafkajs' idle connections re-check an empty queue every millisecond and warn on Node 24+ (request-queue.ts).
fixRequestQueueScheduling();

export interface KafkaSettings extends KafkaConnection {
  clientId: string;
  logger: Logger;
  /** How long to keep trying to reach the brokers at connect time. */
  connectionTimeoutMs?: number;
  /** Compression of produced batches (`KAFKA_COMPRESSION`); default none. */
  compression?: 'none' | 'gzip';
}

export interface OutgoingMessage {
  topic: string;
  key: string | null;
  /** Objects are JSON-serialised; `null` is a tombstone. */
  value: unknown;
  headers?: Record<string, string>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  compacted?: boolean;
  retentionMs?: number;
  /** Copies of each partition (default: the broker's `default.replication.factor`). */
  replicationFactor?: number;
  /** Copies that must acknowledge a write with acks=all (`min.insync.replicas`). */
  minInsyncReplicas?: number;
}

/** How services treat their topics at boot (`KAFKA_TOPICS`): create what is missing, or only check. */
export type TopicsMode = 'create' | 'check';

/** A topic is missing or not as planned: the service refuses to start, saying what and how to fix it. */
export class TopicsNotReadyError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `topics not as planned (run \`npm run topics -- --apply\` or the provisioning job):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'TopicsNotReadyError';
  }
}

/**
 * The largest record batch our topics take (`max.message.bytes`): a request may carry 10 MiB of events
 * (up to 1 MiB of payload each), which the messages repeat with their own JSON escaping, so a batch for
 * one partition can exceed the broker's 1 MiB default; 32 MiB holds the worst case of the API's limits.
 */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** `ConfigResourceTypes.TOPIC` (Node's ESM loader does not see that export of kafkajs' CommonJS build). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/** The topic configuration a spec asks for (every entry we manage, so it can be set as a whole). */
export function topicConfig(spec: TopicSpec): Array<{ name: string; value: string }> {
  return [
    { name: 'cleanup.policy', value: spec.compacted ? 'compact' : 'delete' },
    ...(spec.retentionMs ? [{ name: 'retention.ms', value: String(spec.retentionMs) }] : []),
    { name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) },
    ...(spec.minInsyncReplicas
      ? [{ name: 'min.insync.replicas', value: String(spec.minInsyncReplicas) }]
      : []),
  ];
}

/** Maps kafkajs log levels onto the service's pino logger. */
function logCreator(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const child = { component: 'kafkajs', ...extra };
      // kafkajs logs every failed request at ERROR, including the ones it retries by itself; failures
      // that matter reach our code as thrown errors and are logged there.
      if (level === logLevel.ERROR || level === logLevel.WARN) {
        if (message.startsWith('Limiting retries for the idempotent producer')) logger.debug(child, message);
        else logger.warn(child, message);
      } else if (level === logLevel.INFO) logger.debug(child, message);
      else logger.trace(child, message);
    };
}

export function fromHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

export function encodeValue(value: unknown): string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The one Kafka client of a service. Every method awaits; connect failures are thrown to the caller. */
export class KafkaClient {
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly clientId: string;

  constructor(private readonly settings: KafkaSettings) {
    this.logger = settings.logger.child({ component: 'kafka' });
    this.clientId = settings.clientId;
    this.kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      ...(settings.ssl ? { ssl: settings.ssl } : {}),
      ...(settings.sasl ? { sasl: settings.sasl } : {}),
      // TLS and SASL handshakes add round trips: a managed cluster across a network needs more than 3 s.
      connectionTimeout: settings.ssl || settings.sasl ? 10_000 : 3_000,
      authenticationTimeout: 10_000,
      requestTimeout: 30_000,
      retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 8 },
      logLevel: logLevel.INFO,
      logCreator: logCreator(settings.logger),
    });
  }

  /**
   * Creates topics that do not exist yet and waits until every partition has a leader. Idempotent and
   * safe when several services do it at once on a fresh cluster (retries until `timeoutMs`).
   */
  async ensureTopics(specs: TopicSpec[], timeoutMs = 60_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const deadline = Date.now() + timeoutMs;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const existing = new Set(await admin.listTopics());
          const missing = specs.filter((s) => !existing.has(s.topic));
          if (missing.length > 0) {
            await admin
              .createTopics({
                waitForLeaders: false,
                topics: missing.map((s) => ({
                  topic: s.topic,
                  numPartitions: s.partitions,
                  ...(s.replicationFactor ? { replicationFactor: s.replicationFactor } : {}),
                  configEntries: topicConfig(s),
                })),
              })
              .catch((err: { type?: string }) => {
                // Another instance created them concurrently: fine.
                if (err.type !== 'TOPIC_ALREADY_EXISTS') throw err;
              });
            this.logger.info({ topics: missing.map((s) => s.topic) }, 'created topics');
          }
          const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
          const leaderless = topics.filter(
            (t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0),
          );
          if (leaderless.length === 0) {
            await this.raiseMessageLimits(admin, specs);
            return;
          }
          throw new Error(`topics without leaders yet: ${leaderless.map((t) => t.name).join(', ')}`);
        } catch (err) {
          if (Date.now() > deadline) throw err;
          this.logger.debug({ err, attempt }, 'topics not ready yet; retrying');
          await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * attempt)));
        }
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * At boot: `create` makes missing topics (the local stack, compose); `check` only verifies them and
   * throws TopicsNotReadyError listing every difference (production, where topics are provisioned apart).
   */
  async prepareTopics(specs: TopicSpec[], mode: TopicsMode): Promise<void> {
    if (mode === 'create') return this.ensureTopics(specs);
    const problems = await this.checkTopics(specs);
    if (problems.length > 0) throw new TopicsNotReadyError(problems);
  }

  /**
   * Every way the topics differ from their specs, one line each: missing, fewer partitions (a
   * single-partition topic must have exactly one: its order is global), fewer replicas, another cleanup
   * policy, a lower message limit or `min.insync.replicas`. Empty when all are as planned.
   */
  async checkTopics(specs: TopicSpec[]): Promise<string[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const problems: string[] = specs
        .filter((s) => !existing.has(s.topic))
        .map((s) => `${s.topic}: missing`);
      const present = specs.filter((s) => existing.has(s.topic));
      if (present.length === 0) return problems;
      const { topics } = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((s) => ({ type: TOPIC_RESOURCE, name: s.topic })),
      });
      for (const spec of present) {
        const meta = topics.find((t) => t.name === spec.topic);
        const partitions = meta?.partitions.length ?? 0;
        if (spec.partitions === 1 ? partitions !== 1 : partitions < spec.partitions) {
          problems.push(`${spec.topic}: ${partitions} partitions, planned ${spec.partitions}`);
        }
        const replicas = Math.min(...(meta?.partitions.map((p) => p.replicas.length) ?? [0]));
        if (spec.replicationFactor && replicas < spec.replicationFactor) {
          problems.push(`${spec.topic}: replication factor ${replicas}, planned ${spec.replicationFactor}`);
        }
        const config = new Map(
          described.resources
            .find((r) => r.resourceName === spec.topic)
            ?.configEntries.map((e) => [e.configName, e.configValue] as const) ?? [],
        );
        const policy = spec.compacted ? 'compact' : 'delete';
        if (config.get('cleanup.policy') !== policy) {
          problems.push(`${spec.topic}: cleanup.policy ${config.get('cleanup.policy')}, planned ${policy}`);
        }
        if (Number(config.get('max.message.bytes') ?? 0) < MAX_MESSAGE_BYTES) {
          problems.push(
            `${spec.topic}: max.message.bytes ${config.get('max.message.bytes')}, planned at least ${MAX_MESSAGE_BYTES}`,
          );
        }
        if (
          spec.minInsyncReplicas &&
          Number(config.get('min.insync.replicas') ?? 1) < spec.minInsyncReplicas
        ) {
          problems.push(
            `${spec.topic}: min.insync.replicas ${config.get('min.insync.replicas')}, planned ${spec.minInsyncReplicas}`,
          );
        }
        if (spec.retentionMs && Number(config.get('retention.ms')) !== spec.retentionMs) {
          problems.push(
            `${spec.topic}: retention.ms ${config.get('retention.ms')}, planned ${spec.retentionMs}`,
          );
        }
      }
      return problems;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Makes the topics as planned: creates the missing ones, adds partitions, sets each topic's configuration
   * to its spec. Replication factor is not changed in place (a reassignment is an operator's decision): it
   * stays in the returned problems. Returns what is still not as planned.
   */
  async applyTopics(specs: TopicSpec[]): Promise<string[]> {
    await this.ensureTopics(specs);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
      const grow = specs.filter(
        (s) => (topics.find((t) => t.name === s.topic)?.partitions.length ?? 0) < s.partitions,
      );
      if (grow.length > 0) {
        await admin.createPartitions({
          topicPartitions: grow.map((s) => ({ topic: s.topic, count: s.partitions })),
        });
      }
      await admin.alterConfigs({
        validateOnly: false,
        resources: specs.map((s) => ({ type: TOPIC_RESOURCE, name: s.topic, configEntries: topicConfig(s) })),
      });
    } finally {
      await admin.disconnect();
    }
    return this.checkTopics(specs);
  }

  /**
   * Topics made before the limit existed get it (their configuration is set to the spec as a whole:
   * AlterConfigs replaces a topic's dynamic configuration).
   */
  private async raiseMessageLimits(admin: Admin, specs: TopicSpec[]): Promise<void> {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: specs.map((s) => ({
        type: TOPIC_RESOURCE,
        name: s.topic,
        configNames: ['max.message.bytes'],
      })),
    });
    const low = specs.filter((s) => {
      const entry = described.resources
        .find((r) => r.resourceName === s.topic)
        ?.configEntries.find((e) => e.configName === 'max.message.bytes');
      return !entry || Number(entry.configValue) < MAX_MESSAGE_BYTES;
    });
    if (low.length === 0) return;
    await admin.alterConfigs({
      validateOnly: false,
      resources: low.map((s) => ({
        type: TOPIC_RESOURCE,
        name: s.topic,
        configEntries: topicConfig(s),
      })),
    });
    this.logger.info(
      { topics: low.map((s) => s.topic), maxMessageBytes: MAX_MESSAGE_BYTES },
      'raised topic message limits',
    );
  }

  async admin(): Promise<Admin> {
    const admin = this.kafka.admin();
    await admin.connect();
    return admin;
  }

  /**
   * An idempotent producer writing with acks=all; `send` resolves once the brokers have the messages.
   * The settings a cluster needs (issue 23), each with its reason:
   * - `idempotent: true`: a retry after a lost answer (a broker killed or a leader moved mid-request) is
   *   recognised by the broker from the producer id and sequence numbers and written once, not twice.
   * - acks=all (`sendBatch` below, `acks: -1`): the leader answers only once every in-sync replica has the
   *   records, and with min.insync.replicas 2 (the topic plan on a cluster) that is at least two brokers,
   *   so losing the leader right after the answer loses nothing.
   * - `maxInFlightRequests: 1`: one request per broker at a time, so a retry cannot overtake the request
   *   after it and reorder a key's records.
   * - `retry`: 8 retries from 200 ms, capped at 3 s: about 15 s of attempts, longer than a killed broker
   *   takes to be fenced and its partitions to get new leaders (broker.session.timeout.ms: 4 s on the local
   *   cluster, deploy/local/stack.mjs; Kafka's default 9 s in production) plus a metadata refresh, so a
   *   broker loss costs latency, not a failed send. With 5 retries (about 6 s) the cluster chaos run's
   *   broker kill on a loaded machine still failed a gateway send after 5.8 s: answered 503 (issue 23).
   *   A cluster that is down for longer fails the send after those 15 s (the gateway answers 503).
   * - `stablePartitioner` (partitioner.ts): the DefaultPartitioner, except that a message keeps the partition it was first
   *   given across kafkajs's retries (the sequence numbers of a retried batch must describe the same records).
   */
  async producer(): Promise<MessageProducer> {
    return MessageProducer.connect(
      () =>
        this.kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: stablePartitioner,
          retry: { retries: PRODUCER_RETRIES, initialRetryTime: 200, maxRetryTime: 3_000 },
        }),
      this.settings.compression ?? 'none',
      this.logger,
    );
  }
}

/**
 * The messages of a completed kafkajs send that no broker acknowledged: those whose partition (set by
 * `stablePartitioner`) has no error-free answer in `written`. kafkajs 2.2.4 can resolve a send without
 * writing them (kafkajs issue 1303): it remembers which *brokers* answered across its retries, and a
 * partition whose leader moved to a broker that had already answered for other partitions is never sent
 * again. Their send failed, and kafkajs rolled their sequence numbers back; sending them again to the
 * same partitions, in the same order, through the same producer either writes them or (if the failed
 * attempt was written after all) is recognised by the broker as that attempt and acknowledged once. That
 * holds because `MessageProducer` writes one send at a time: no other send can take those numbers first.
 */
export function unacknowledged(
  sent: Array<{ topic: string; messages: Message[] }>,
  written: RecordMetadata[],
): Array<{ topic: string; messages: Message[] }> {
  const acknowledged = new Set(
    written.filter((r) => r.errorCode === 0).map((r) => `${r.topicName}\u0000${r.partition}`),
  );
  return sent
    .map(({ topic, messages }) => ({
      topic,
      messages: messages.filter((m) => !acknowledged.has(`${topic}\u0000${m.partition}`)),
    }))
    .filter((t) => t.messages.length > 0);
}

/** The producers' retries of a failed request (`producer()`): a send is tried this many times plus one. */
export const PRODUCER_RETRIES = 8;

/** Sends of the skipped partitions (`unacknowledged`) before a send is given up as failed. */
const RESEND_ATTEMPTS = 5;

/**
 * The most a write of queued sends carries together (the encoded keys and values): far under the broker's
 * request limit (`socket.request.max.bytes`, 100 MiB) and a topic's batch limit (MAX_MESSAGE_BYTES). A
 * single send larger than this is written on its own.
 */
export const COALESCED_BYTES = 16 * 1024 * 1024;

interface QueuedSend {
  topicMessages: Array<{ topic: string; messages: Message[] }>;
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Sends with acks=all through an idempotent kafkajs producer, **one write at a time**: sends that arrive
 * while a write is under way wait and go together in the next one (in their order, up to COALESCED_BYTES),
 * and each resolves or fails with the write that carried it.
 *
 * Why one at a time (issue 23): kafkajs numbers each partition's records per producer and, when a produce
 * request fails, rolls the numbers of every partition in it back, even of a partition the broker wrote
 * (a request to a broker leading several partitions fails as a whole when one of them has moved; a timeout
 * or a killed broker leaves it unknown). With sends running side by side on one producer, another send
 * takes those numbers meanwhile, so the broker refuses it (out of order) or takes it for a retry of the
 * written records and acknowledges it unwritten (a silent loss), and the retried records get the numbers
 * after it and are written twice. With one write at a time, a retry re-sends the same records under the same
 * numbers, which the broker writes once or recognises as written. Together with the fix of send-retries.ts
 * (a send's attempts one after another) this made the cluster reproducer's duplicates (37 and 431 per
 * 100,000 messages) and its out-of-order failures go away (docs/runbooks.md "Kafka broker lost").
 *
 * A failed write may have been written all the same (the broker wrote, the answer was lost): callers must
 * treat its outcome as unknown. After a failure the producer is replaced by a new one (a new producer id):
 * kafkajs rolls its sequence numbers back after a failed send, so the next batch would reuse the numbers of
 * records the broker may already hold, and the broker would take it for a retry of those and acknowledge it
 * without writing it (a silent loss), or refuse every later batch of the partition as out of order.
 */
export class MessageProducer {
  private current: Promise<Producer>;
  private readonly queue: QueuedSend[] = [];
  private writing = false;

  private constructor(
    private readonly make: () => Producer,
    private readonly compression: 'none' | 'gzip',
    first: Producer,
    private readonly logger: Logger | undefined,
  ) {
    this.current = Promise.resolve(first);
  }

  static async connect(
    make: () => Producer,
    compression: 'none' | 'gzip' = 'none',
    logger?: Logger,
  ): Promise<MessageProducer> {
    const first = make();
    await first.connect();
    return new MessageProducer(make, compression, first, logger);
  }

  /** Sends with acks=all; each message gets a producer span and that span's `traceparent` (instrumentation.ts). */
  async send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await sendTraced(messages, (traced) => this.enqueue(traced));
  }

  /** The producer to send with: the current one, or a new one if the last replacement could not connect. */
  private async producer(): Promise<Producer> {
    const current = this.current;
    try {
      return await current;
    } catch (err) {
      if (this.current === current) this.current = this.connectNew();
      throw err;
    }
  }

  private connectNew(): Promise<Producer> {
    const next = this.make();
    return next.connect().then(() => next);
  }

  /** After a failed write on `failed` (nothing else is under way on it): later writes use a new producer. */
  private replace(failed: Producer): void {
    this.current = this.connectNew();
    this.current.catch(() => undefined); // seen by the next write
    failed.disconnect().catch(() => undefined);
  }

  private enqueue(messages: OutgoingMessage[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    let bytes = 0;
    for (const m of messages) {
      const value = encodeValue(m.value);
      bytes += (m.key?.length ?? 0) + (value?.length ?? 0);
      const list = byTopic.get(m.topic) ?? [];
      list.push({ key: m.key, value, headers: m.headers });
      byTopic.set(m.topic, list);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({
        topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })),
        bytes,
        resolve,
        reject,
      });
      if (!this.writing) void this.drain();
    });
  }

  /** Writes the queued sends, one write at a time, until none is left. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        let bytes = this.queue[0]!.bytes;
        let count = 1;
        while (count < this.queue.length && bytes + this.queue[count]!.bytes <= COALESCED_BYTES) {
          bytes += this.queue[count]!.bytes;
          count++;
        }
        const sends = this.queue.splice(0, count);
        try {
          await this.write(sends.flatMap((s) => s.topicMessages));
          for (const s of sends) s.resolve();
        } catch (err) {
          for (const s of sends) s.reject(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async write(topicMessages: Array<{ topic: string; messages: Message[] }>): Promise<void> {
    const producer = await this.producer();
    try {
      // Each message's partition is written into it by stablePartitioner (partitioner.ts) as kafkajs sends it.
      let pending = topicMessages;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > RESEND_ATTEMPTS) {
          throw new Error(
            `kafkajs resolved ${RESEND_ATTEMPTS + 1} sends without an answer for partitions ${pending.map((t) => `${t.topic}[${[...new Set(t.messages.map((m) => m.partition))].join(',')}]`).join(', ')}`,
          );
        }
        if (attempt > 0) {
          // kafkajs skipped partitions whose leader had moved (see `unacknowledged`): send those again.
          const skipped = pending.reduce((n, t) => n + t.messages.length, 0);
          this.logger?.warn({ attempt, messages: skipped }, 'sending again what kafkajs skipped');
        }
        const written = await producer.sendBatch({
          acks: -1,
          compression: this.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
          topicMessages: pending,
        });
        pending = unacknowledged(pending, written);
      }
    } catch (err) {
      this.replace(producer);
      throw err;
    }
  }

  /** Closes the producer once the sends queued so far are written (or have failed). */
  async close(): Promise<void> {
    if (this.queue.length > 0 || this.writing) {
      await new Promise<void>((resolve) => {
        this.queue.push({ topicMessages: [], bytes: 0, resolve, reject: () => resolve() });
        if (!this.writing) void this.drain();
      });
    }
    const current = await this.current.catch(() => undefined);
    await current?.disconnect();
  }
}
