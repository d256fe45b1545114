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
import { settleWithin, withTimeout } from './timeouts.js';

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
  /** The offset each partition's next record must have (the range's start, then one past the last seen). */
  next: Map<number, bigint>;
  todo: Set<number>;
  visit: (message: IncomingMessage) => void;
  finish: () => void;
  fail: (err: Error) => void;
  /** When a record of the range last arrived (or the scan began). */
  progressAt: number;
}

/**
 * A scan that saw no record of its range for `SCAN_STALL_MS`, or whose consumer skipped records: its consumer
 * is replaced and it starts over.
 */
class ScanStalled extends Error {}

/**
 * How long a scan may go without a record of its range before its consumer is taken for lost. A healthy
 * consumer answers a fetch within its 250 ms wait; this is long for a loaded machine, short against the
 * scan's own limit (60 s by default) and a writer's shutdown (15 s).
 */
export const SCAN_STALL_MS = 8_000;

/**
 * Reads time ranges of one topic, for recovery checks ("was this already published?"), not for hot
 * paths. One consumer (a group of its own) is joined once and kept with every partition paused; a scan
 * seeks the partitions it needs to where the range starts, resumes them and pauses each again at the
 * end it had when the scan started. Scans run one at a time.
 *
 * The consumer is replaced (a new group) when kafkajs reports it crashed, and when a scan stalls. After
 * a broker restart kafkajs restarts a crashed consumer as a new member of the same group, beside the old
 * member whose session has not expired yet: the group's partitions can sit with that ghost, and a
 * restarted consumer loses its pauses and pending seeks. The chaos run (seed 437660, 2026-12) saw a scan
 * wait its whole 60 s after a broker restart, holding its writer's partitions and the group's rebalance,
 * and an ordered shutdown time out behind it. A scan that starts over may visit a record twice.
 *
 * Only for topics whose offsets have no gaps (neither compacted nor written in transactions): a skipped
 * offset is taken for a lost seek.
 */
export class TopicScanner {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private started: Promise<void> | undefined;
  private active: ActiveScan | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private groupId = '';
  /** kafkajs reported the consumer crashed: the next scan replaces it. */
  private crashed = false;
  private stopped = false;

  constructor(
    private readonly client: KafkaClient,
    private readonly topic: string,
    private readonly logger?: Logger,
  ) {}

  scan(settings: Omit<ScanSettings, 'topic'>): Promise<void> {
    const next = this.queue.then(() => this.run(settings));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(settings: Omit<ScanSettings, 'topic'>): Promise<void> {
    const deadline = Date.now() + (settings.timeoutMs ?? 60_000);
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) throw new Error(`the scanner of ${this.topic} is stopped`);
      if (this.crashed) await this.discard('its consumer crashed');
      try {
        await withTimeout(
          this.start(),
          Math.max(0, deadline - Date.now()),
          `joining a group to scan ${this.topic}`,
        );
        if (this.stopped) throw new Error(`the scanner of ${this.topic} is stopped`);
        return await this.once(settings, deadline);
      } catch (err) {
        if (!(err instanceof ScanStalled) || Date.now() >= deadline) throw err;
        await this.discard(`${(err as Error).message} (attempt ${attempt})`);
      }
    }
  }

  private async once(settings: Omit<ScanSettings, 'topic'>, deadline: number): Promise<void> {
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
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<void>((resolve, reject) => {
      this.active = {
        end,
        next: new Map(starts.map((s) => [s.partition, BigInt(s.offset)])),
        todo,
        visit: settings.visit,
        finish: resolve,
        fail: reject,
        progressAt: Date.now(),
      };
      timer = setInterval(() => {
        const scan = this.active;
        if (!scan) return;
        if (Date.now() >= deadline) {
          scan.fail(
            new Error(`scanning ${this.topic} did not finish within ${settings.timeoutMs ?? 60_000} ms`),
          );
        } else if (Date.now() - scan.progressAt > SCAN_STALL_MS) {
          scan.fail(new ScanStalled(`scanning ${this.topic} saw nothing for ${SCAN_STALL_MS} ms`));
        }
      }, 250);
    });
    try {
      for (const s of starts)
        if (todo.has(s.partition))
          consumer.seek({ topic: this.topic, partition: s.partition, offset: s.offset });
      consumer.resume([{ topic: this.topic, partitions: [...todo] }]);
      await finished;
    } finally {
      clearInterval(timer);
      this.active = undefined;
      try {
        consumer.pause([{ topic: this.topic }]);
      } catch {
        // a consumer kafkajs has ended: replaced by the next scan
      }
    }
  }

  private start(): Promise<void> {
    this.started ??= (async () => {
      this.admin ??= await this.client.admin();
      this.groupId = `${this.client.clientId}-scanner-${randomUUID()}`;
      const consumer = this.client.kafka.consumer({
        groupId: this.groupId,
        maxWaitTimeInMs: 250,
        sessionTimeout: 30_000,
      });
      this.consumer = consumer;
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      consumer.on(consumer.events.CRASH, () => {
        if (this.consumer === consumer) this.crashed = true;
      });
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        // A replaced consumer that is still closing is not listened to.
        eachMessage: async ({ partition, message }) => {
          if (this.consumer === consumer) this.visit(partition, message);
        },
      });
      consumer.pause([{ topic: this.topic }]);
      await joined;
    })().catch(async (err) => {
      this.started = undefined;
      const consumer = this.consumer;
      this.consumer = undefined;
      await settleWithin(consumer?.disconnect(), 5_000);
      throw err;
    });
    return this.started;
  }

  /** Leaves the consumer behind (its group is deleted, or expires); the next scan starts a new one. */
  private async discard(why: string): Promise<void> {
    const consumer = this.consumer;
    const groupId = this.groupId;
    this.consumer = undefined;
    this.started = undefined;
    this.crashed = false;
    this.logger?.warn({ topic: this.topic, groupId }, `replacing the scanner's consumer: ${why}`);
    await this.release(consumer, groupId);
  }

  /** Closes a consumer and deletes its group, each given at most 5 s. */
  private async release(consumer: Consumer | undefined, groupId: string): Promise<void> {
    await settleWithin(consumer?.disconnect(), 5_000);
    await settleWithin(this.admin?.deleteGroups([groupId]), 5_000);
  }

  private visit(partition: number, message: Parameters<typeof toIncoming>[2]): void {
    const scan = this.active;
    if (!scan?.todo.has(partition)) return;
    const last = (scan.end.get(partition) ?? 0n) - 1n;
    const offset = BigInt(message.offset);
    const next = scan.next.get(partition) ?? 0n;
    if (offset > last || offset < next) return; // past the range, or seen already
    if (offset > next) {
      // The consumer skipped records (the topic is neither compacted nor transactional: its offsets have
      // no gaps): its seek was lost (kafkajs restarted it). Counting this record could end the partition
      // with records never seen, and a change taken for unpublished would be sent twice.
      scan.fail(
        new ScanStalled(`scanning ${this.topic} skipped from ${next} to ${offset} in partition ${partition}`),
      );
      return;
    }
    scan.next.set(partition, offset + 1n);
    scan.progressAt = Date.now();
    scan.visit(toIncoming(this.topic, partition, message));
    if (offset >= last) {
      scan.todo.delete(partition);
      this.consumer?.pause([{ topic: this.topic, partitions: [partition] }]);
      if (scan.todo.size === 0) scan.finish();
    }
  }

  /** Ends the scanner: a scan under way fails at once (its caller's work is redone by whoever retries it). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.active?.fail(new Error(`the scanner of ${this.topic} is stopping`));
    const started = this.started;
    this.started = undefined;
    if (started) {
      await started.catch(() => undefined);
      await this.release(this.consumer, this.groupId);
    }
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
