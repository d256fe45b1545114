import { randomUUID } from 'node:crypto';
import type { Logger } from '@hub/observability';
import type { Admin, Consumer } from 'kafkajs';
import type { KafkaClient } from './client.js';
import { BrokerUnavailableError, type IncomingMessage, isBrokerUnavailable, toIncoming } from './consumer.js';

export interface TopicMirrorSettings {
  topic: string;
  /** Applies one record to the local view (idempotently; records may be seen twice). */
  apply: (message: IncomingMessage) => void;
  logger: Logger;
  /** The mirror's group session (default 30 s); shorter only in tests that outlast it on purpose. */
  sessionTimeoutMs?: number;
}

/** A local view a mirror fills record by record (a tombstone's value is null), with the record's headers. */
export interface MirroredView {
  apply(key: string | null, value: Buffer | null, headers: Record<string, string>): unknown;
}

/**
 * A mirror of `topic` into `view`. A record the view cannot read is logged (`what`: what the topic holds)
 * and skipped, so one bad record never stops an instance from starting or following the topic.
 */
export function mirrorInto(
  kafka: KafkaClient,
  settings: { topic: string; view: MirroredView; what: string; logger: Logger },
): TopicMirror {
  const { view, what, logger } = settings;
  return new TopicMirror(kafka, {
    topic: settings.topic,
    logger,
    apply: (m) => {
      try {
        view.apply(m.key, m.value, m.headers);
      } catch (err) {
        logger.error({ err, offset: m.offset }, `skipping unreadable ${what}`);
      }
    },
  });
}

/**
 * Reads a (compacted) topic from the beginning into a local view, in every instance: each mirror is its
 * own consumer group, so every instance sees every record. `catchUp()` waits until the view holds every
 * record that was in the topic when it was called, which makes "a change that has been answered applies
 * to every request after it" hold without polling a database.
 */
export class TopicMirror {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  /** Next offset to read, per partition. */
  private readonly position = new Map<number, bigint>();
  private waiters: Array<() => void> = [];
  private inflightEnd: Promise<Map<number, bigint>> | undefined;
  private nextEnd: Promise<Map<number, bigint>> | undefined;
  private ready = false;
  private readonly log: Logger;

  constructor(
    private readonly client: KafkaClient,
    private readonly settings: TopicMirrorSettings,
  ) {
    this.log = settings.logger.child({ component: 'topic-mirror', topic: settings.topic });
  }

  async start(timeoutMs = 30_000): Promise<void> {
    this.admin = await this.client.admin();
    await this.startConsumer();
    await this.catchUp(timeoutMs);
    this.ready = true;
    this.log.info(
      { positions: Object.fromEntries([...this.position].map(([p, o]) => [p, String(o)])) },
      'caught up',
    );
  }

  private async startConsumer(): Promise<void> {
    const consumer = this.client.kafka.consumer({
      groupId: `${this.client.clientId}-mirror-${randomUUID()}`,
      // An idle fetch waits up to a second; a record arriving ends the wait at once.
      maxWaitTimeInMs: 1_000,
      sessionTimeout: this.settings.sessionTimeoutMs ?? 30_000,
      // Through a broker outage the mirror restarts itself (it re-reads the topic, which is idempotent)
      // rather than silently stop following configuration changes.
      retry: { restartOnFailure: async () => !this.stopped },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      if (this.stopped || e.payload.restart) return;
      // kafkajs gives up for good, without asking `restartOnFailure`, on errors it deems final, such as
      // "failed to find group coordinator" while the broker restarts: the mirror would stop following
      // configuration changes and every `catchUp` time out. A new consumer is started instead.
      this.log.warn({ err: e.payload.error }, 'mirror consumer stopped; starting it again');
      void this.startAgain();
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.settings.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        this.settings.apply(toIncoming(this.settings.topic, partition, message));
        this.position.set(partition, BigInt(message.offset) + 1n);
        this.wake();
      },
    });
  }

  /** A new consumer (from the topic's beginning, idempotent), tried with a growing delay until stopped. */
  private async startAgain(): Promise<void> {
    for (let delay = 1_000; !this.stopped; delay = Math.min(delay * 2, 10_000)) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.stopped) return;
      try {
        await this.startConsumer();
        this.log.info('mirror consumer started again');
        return;
      } catch (err) {
        await this.consumer?.disconnect().catch(() => undefined);
        this.log.warn({ err }, 'mirror consumer could not start again; trying again');
      }
    }
  }

  isReady(): boolean {
    return this.ready;
  }

  /** Resolves once every record present in the topic at call time has been applied; rejects after timeoutMs. */
  async catchUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const end = await this.endOffsetsBy(deadline);
    while (!this.reached(end)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new BrokerUnavailableError(
          `timed out after ${timeoutMs} ms catching up with ${this.settings.topic}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private reached(end: Map<number, bigint>): boolean {
    for (const [partition, high] of end) {
      if (high > 0n && (this.position.get(partition) ?? 0n) < high) return false;
    }
    return true;
  }

  /**
   * End offsets, asked again until `deadline` while the broker cannot answer: kafkajs's admin gives up at
   * the first refused connection or NOT_LEADER answer, and on a cluster the partition's leadership moves
   * to another broker within seconds of a broker's loss (issue 23: a request arriving then was answered
   * 503 CONFIG_UNAVAILABLE for the ~5 s until the new leader was known).
   */
  private async endOffsetsBy(deadline: number): Promise<Map<number, bigint>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.endOffsets();
      } catch (err) {
        const left = deadline - Date.now();
        if (left <= 0 || !isBrokerUnavailable(err)) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(left, 100 * attempt, 500)));
      }
    }
  }

  /**
   * End offsets, coalesced: a caller arriving while a fetch is in flight waits for the next fetch (which
   * starts after its call), never for one that started before it.
   */
  private endOffsets(): Promise<Map<number, bigint>> {
    if (!this.inflightEnd) {
      const admin = this.admin;
      if (!admin) return Promise.reject(new Error('mirror not started'));
      this.inflightEnd = admin
        .fetchTopicOffsets(this.settings.topic)
        .then((offsets) => new Map(offsets.map((o) => [o.partition, BigInt(o.high)])))
        .finally(() => {
          this.inflightEnd = undefined;
        });
      return this.inflightEnd;
    }
    if (!this.nextEnd) {
      this.nextEnd = this.inflightEnd
        .catch(() => undefined)
        .then(() => {
          this.nextEnd = undefined;
          return this.endOffsets();
        });
    }
    return this.nextEnd;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private stopped = false;

  async stop(): Promise<void> {
    this.stopped = true;
    this.ready = false;
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
  }
}
