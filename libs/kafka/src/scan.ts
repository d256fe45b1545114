import { randomUUID } from 'node:crypto';
import type { Logger } from '@hub/observability';
// Before kafkajs loads: its producer takes the fixed send retries (send-retries.ts) and the faster record
// encoding (fast-encoding.ts).
import './send-retries.js';
import './fast-encoding.js';
import type { Admin, Consumer } from 'kafkajs';
import type { KafkaClient } from './client.js';
import { type IncomingMessage, toIncoming } from './consumer.js';
import { partitionOf } from './partitioner.js';

export interface ScanSettings {
  topic: string;
  /** Read from the first record written at or after this time (ms since the epoch) in each partition. */
  sinceMs: number;
  /** Called for every record up to the end of each partition as it was when the scan started. */
  visit: (message: IncomingMessage) => void;
  /** Only the partitions these keys are produced to (the default partitioner's choice). */
  keys?: string[];
  timeoutMs?: number;
}

/** The partition the producers' partitioner gives a key, among `count` partitions (partitioner.ts). */
export function partitionOfKey(_topic: string, key: string, count: number): number {
  return partitionOf(key, count);
}

interface ActiveScan {
  end: Map<number, bigint>;
  todo: Set<number>;
  visit: (message: IncomingMessage) => void;
  finish: () => void;
}

/**
 * Reads time ranges of one topic, for recovery checks ("was this already published?"), not for hot
 * paths. One consumer (a group of its own) is joined once and kept with every partition paused; a scan
 * seeks the partitions it needs to where the range starts, resumes them and pauses each again at the
 * end it had when the scan started. Scans run one at a time.
 */
export class TopicScanner {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private started: Promise<void> | undefined;
  private active: ActiveScan | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly groupId: string;

  constructor(
    private readonly client: KafkaClient,
    private readonly topic: string,
    private readonly logger?: Logger,
  ) {
    this.groupId = `${client.clientId}-scanner-${randomUUID()}`;
  }

  scan(settings: Omit<ScanSettings, 'topic'>): Promise<void> {
    const next = this.queue.then(() => this.run(settings));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(settings: Omit<ScanSettings, 'topic'>): Promise<void> {
    await this.start();
    const admin = this.admin!;
    const consumer = this.consumer!;
    const [starts, ends] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(this.topic, settings.sinceMs),
      admin.fetchTopicOffsets(this.topic),
    ]);
    const end = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
    const wanted = settings.keys
      ? new Set(settings.keys.map((k) => partitionOfKey(this.topic, k, ends.length)))
      : undefined;
    const todo = new Set(
      starts
        .filter(
          (s) => (!wanted || wanted.has(s.partition)) && BigInt(s.offset) < (end.get(s.partition) ?? 0n),
        )
        .map((s) => s.partition),
    );
    if (todo.size === 0) return;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    this.active = { end, todo, visit: settings.visit, finish };
    for (const s of starts)
      if (todo.has(s.partition))
        consumer.seek({ topic: this.topic, partition: s.partition, offset: s.offset });
    consumer.resume([{ topic: this.topic, partitions: [...todo] }]);
    const timeoutMs = settings.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        finished,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`scanning ${this.topic} did not finish within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.active = undefined;
      consumer.pause([{ topic: this.topic }]);
    }
  }

  private start(): Promise<void> {
    this.started ??= (async () => {
      this.admin = await this.client.admin();
      const consumer = this.client.kafka.consumer({
        groupId: this.groupId,
        maxWaitTimeInMs: 250,
        sessionTimeout: 30_000,
      });
      this.consumer = consumer;
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => this.visit(partition, message),
      });
      consumer.pause([{ topic: this.topic }]);
      await joined;
    })().catch((err) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  private visit(partition: number, message: Parameters<typeof toIncoming>[2]): void {
    const scan = this.active;
    if (!scan?.todo.has(partition)) return;
    const last = (scan.end.get(partition) ?? 0n) - 1n;
    const offset = BigInt(message.offset);
    if (offset > last) return;
    scan.visit(toIncoming(this.topic, partition, message));
    if (offset >= last) {
      scan.todo.delete(partition);
      this.consumer?.pause([{ topic: this.topic, partitions: [partition] }]);
      if (scan.todo.size === 0) scan.finish();
    }
  }

  async stop(): Promise<void> {
    const started = this.started;
    this.started = undefined;
    if (!started) return;
    await started.catch(() => undefined);
    await this.consumer
      ?.disconnect()
      .catch((err) => this.logger?.warn({ err }, 'closing the scanner failed'));
    await this.admin?.deleteGroups([this.groupId]).catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}

/** One scan with a scanner of its own (joined and left for this scan: about a second). */
export async function scanTopic(client: KafkaClient, settings: ScanSettings): Promise<void> {
  const scanner = new TopicScanner(client, settings.topic);
  try {
    await scanner.scan(settings);
  } finally {
    await scanner.stop();
  }
}
