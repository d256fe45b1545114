import { randomUUID } from 'node:crypto';
import type { KafkaClient } from './client.js';
import { type IncomingMessage, toIncoming } from './consumer.js';

export interface ScanSettings {
  topic: string;
  /** Read from the first record written at or after this time (ms since the epoch) in each partition. */
  sinceMs: number;
  /** Called for every record up to the end of each partition as it was when the scan started. */
  visit: (message: IncomingMessage) => void;
  timeoutMs?: number;
}

/**
 * Reads a time range of a topic once, from `sinceMs` to the current end of every partition, in a
 * throw-away consumer group. For recovery checks ("was this already published?"), not for hot paths: it
 * costs a group join (about a second).
 */
export async function scanTopic(client: KafkaClient, settings: ScanSettings): Promise<void> {
  const { topic, sinceMs, visit } = settings;
  const admin = await client.admin();
  let starts: Array<{ partition: number; offset: string }>;
  let ends: Array<{ partition: number; high: string }>;
  try {
    starts = await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
    ends = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const end = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
  const todo = new Set(
    starts.filter((s) => BigInt(s.offset) < (end.get(s.partition) ?? 0n)).map((s) => s.partition),
  );
  if (todo.size === 0) return;

  const groupId = `${client.clientId}-scan-${randomUUID()}`;
  const consumer = client.kafka.consumer({ groupId, maxWaitTimeInMs: 250, sessionTimeout: 10_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const last = (end.get(partition) ?? 0n) - 1n;
        const offset = BigInt(message.offset);
        if (!todo.has(partition) || offset > last) return;
        visit(toIncoming(topic, partition, message));
        if (offset >= last) {
          todo.delete(partition);
          if (todo.size === 0) finish();
        }
      },
    });
    // Every partition starts where the range starts; the ones with nothing to read start at their end.
    for (const s of starts) {
      const offset = todo.has(s.partition) ? s.offset : String(end.get(s.partition) ?? s.offset);
      consumer.seek({ topic, partition: s.partition, offset });
    }
    const timeoutMs = settings.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`scanning ${topic} did not finish within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
    const admin = await client.admin().catch(() => undefined);
    await admin?.deleteGroups([groupId]).catch(() => undefined);
    await admin?.disconnect();
  }
}
