/**
 * Where an event's time goes (issue 19's noisy neighbour; issue 22's half-rate phase and ordering step):
 * read after the load, so measuring costs the measured nothing. Per event id, the inbound message's
 * partition and timestamp (the gateway produced it: accepted), the first entity update's timestamp (the
 * mapper produced it: mapped) and the first processed-entity message's timestamp (the writer produced it:
 * written); with the request's send time and the processed message's arrival at the bench's watch, the
 * request → processed time splits into request → accepted → mapped → written → arrived. A message's
 * timestamp is its producer's clock when the produce request was made (CreateTime); every process runs on
 * this machine, so the clocks agree.
 */
import { Headers, Topics } from '@hub/contracts';
import { type IncomingMessage, KafkaClient, TopicMirror } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { type LatencySummary, summarise } from './stats.js';

export interface EventStages {
  partition: number;
  acceptedAt: number;
  mappedAt?: number;
  /** The writer produced the event's first processed-entity message. */
  writtenAt?: number;
}

/**
 * Reads the three topics from the beginning and keeps the stages of the events of `ids` (each message is
 * looked at and dropped: the long form's topics hold hundreds of thousands after the growth step).
 */
export async function readStages(brokers: string[], ids: Set<string>): Promise<Map<string, EventStages>> {
  const stages = new Map<string, EventStages>();
  await eachMessage(brokers, Topics.inboundEvents, (m) => {
    const id = m.headers[Headers.eventId];
    if (id && ids.has(id) && !stages.has(id))
      stages.set(id, { partition: m.partition, acceptedAt: Number(m.timestamp) });
  });
  await eachMessage(brokers, Topics.entityUpdates, (m) => {
    const at = stages.get(m.headers[Headers.eventId] ?? '');
    if (at && at.mappedAt === undefined) at.mappedAt = Number(m.timestamp);
  });
  await eachMessage(brokers, Topics.entitiesProcessed, (m) => {
    const at = stages.get(m.headers[Headers.eventId] ?? '');
    if (at && at.writtenAt === undefined) at.writtenAt = Number(m.timestamp);
  });
  return stages;
}

/** Every message of `topic` present now, from the beginning, through a throw-away mirror. */
async function eachMessage(
  brokers: string[],
  topic: string,
  visit: (message: IncomingMessage) => void,
): Promise<void> {
  const logger = createLogger({ service: 'bench-stages', level: 'error' });
  const mirror = new TopicMirror(new KafkaClient({ clientId: 'bench-stages', brokers, logger }), {
    topic,
    logger,
    apply: visit,
  });
  try {
    await mirror.start(120_000);
  } finally {
    await mirror.stop();
  }
}

export interface StageBreakdown {
  /** Request sent → the gateway produced the inbound message. */
  accepted: LatencySummary;
  /** Inbound message → the mapper produced the event's first entity update. */
  mapped: LatencySummary;
  /** Entity update → its processed-entity message arrived here (the writer, and the watch's fetch). */
  written: LatencySummary;
  /**
   * Entity update → the writer produced its processed-entity message (fetch, database, send), and that
   * message → arrived at the bench's watch: `written` split in two (events whose message was found).
   */
  writer: LatencySummary;
  arrived: LatencySummary;
  /** The slowest events (request → processed), with their partition and each stage, ms after sending. */
  slowest: Array<{
    sentAtMs: number;
    partition: number;
    accepted: number;
    mapped: number;
    written?: number;
    processed: number;
  }>;
  /** Per inbound partition: events, and the request → processed p99. */
  partitions: Record<string, { events: number; p99Ms: number }>;
  /**
   * Per second of the phase (by when the request was sent, from `origin`): events and their request →
   * processed p99 and longest, so a burst (the attack's first seconds) shows apart from the steady state.
   */
  timeline: Array<{ second: number; events: number; p99Ms: number; maxMs: number }>;
}

/**
 * The breakdown of one phase's events: `sentAt` (event id → request sent), `arrivals` (event id →
 * processed message arrived), `origin` the phase's start (the slowest are listed relative to it).
 */
export function breakdown(
  sentAt: Map<string, number>,
  arrivals: Map<string, number>,
  stages: Map<string, EventStages>,
  origin: number,
): StageBreakdown {
  const accepted: number[] = [];
  const mapped: number[] = [];
  const written: number[] = [];
  const writer: number[] = [];
  const arrivedAfter: number[] = [];
  const rows: StageBreakdown['slowest'] = [];
  const byPartition = new Map<number, number[]>();
  const bySecond = new Map<number, number[]>();
  for (const [id, sent] of sentAt) {
    const s = stages.get(id);
    const arrived = arrivals.get(id);
    if (!s || arrived === undefined || s.mappedAt === undefined) continue;
    accepted.push(s.acceptedAt - sent);
    mapped.push(s.mappedAt - s.acceptedAt);
    written.push(arrived - s.mappedAt);
    if (s.writtenAt !== undefined) {
      writer.push(s.writtenAt - s.mappedAt);
      arrivedAfter.push(arrived - s.writtenAt);
    }
    rows.push({
      sentAtMs: sent - origin,
      partition: s.partition,
      accepted: s.acceptedAt - sent,
      mapped: s.mappedAt - sent,
      ...(s.writtenAt !== undefined ? { written: s.writtenAt - sent } : {}),
      processed: arrived - sent,
    });
    const list = byPartition.get(s.partition) ?? [];
    list.push(arrived - sent);
    byPartition.set(s.partition, list);
    const second = Math.floor((sent - origin) / 1000);
    bySecond.set(second, [...(bySecond.get(second) ?? []), arrived - sent]);
  }
  rows.sort((a, b) => b.processed - a.processed);
  return {
    accepted: summarise(accepted),
    mapped: summarise(mapped),
    written: summarise(written),
    writer: summarise(writer),
    arrived: summarise(arrivedAfter),
    slowest: rows.slice(0, 10),
    partitions: Object.fromEntries(
      [...byPartition].map(([p, list]) => {
        const s = summarise(list);
        return [String(p), { events: s.count, p99Ms: s.p99Ms }];
      }),
    ),
    timeline: [...bySecond]
      .sort(([a], [b]) => a - b)
      .map(([second, list]) => {
        const s = summarise(list);
        return { second, events: s.count, p99Ms: s.p99Ms, maxMs: s.maxMs };
      }),
  };
}

/** What a service's batch consumer did: its handler's calls, the messages offered to them, its time in them. */
export interface HandlerWork {
  calls: number;
  messages: number;
  seconds: number;
}

/** A counter source: the sum of a metric's series in one service's `/metrics` (`ManagedStack.counter`). */
export type CounterSource = (service: 'mapper' | 'entity-writer', metric: string) => Promise<number>;

/** The consumer metrics of libs/kafka (instrumentation.ts) behind `HandlerWork`. */
export async function handlerWork(
  counter: CounterSource,
  service: 'mapper' | 'entity-writer',
): Promise<HandlerWork> {
  const [calls, messages, seconds] = await Promise.all([
    counter(service, 'hub_consumer_batch_messages_count'),
    counter(service, 'hub_consumer_batch_messages_sum'),
    counter(service, 'hub_consumer_handler_duration_seconds_sum'),
  ]);
  return { calls, messages, seconds };
}

/**
 * A batch consumer's work between two samples, per handler call: how many calls, messages offered per
 * call, and milliseconds in the handler per call (the database, the sandbox, the send). Set beside a
 * stage's latency, it tells waiting (fetch, a round of other partitions) from working.
 */
export function handlerBetween(
  before: HandlerWork,
  after: HandlerWork,
): { calls: number; messagesPerCall: number; msPerCall: number; busyMs: number } {
  const calls = after.calls - before.calls;
  const busyMs = (after.seconds - before.seconds) * 1000;
  return {
    calls,
    messagesPerCall: calls > 0 ? (after.messages - before.messages) / calls : Number.NaN,
    msPerCall: calls > 0 ? busyMs / calls : Number.NaN,
    busyMs,
  };
}
