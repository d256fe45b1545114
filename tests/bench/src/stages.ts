/**
 * Where an event's time goes (issue 19's noisy neighbour): read after the load, so measuring costs the
 * measured nothing. Per event id, the inbound message's partition and timestamp (the gateway produced it:
 * accepted) and the first entity update's timestamp (the mapper produced it: mapped); with the request's
 * send time and the processed message's arrival, the request → processed time splits into
 * request → accepted → mapped → processed.
 */
import { Headers, Topics } from '@hub/contracts';
import { collectTopic } from '@hub/testing';
import { type LatencySummary, summarise } from './stats.js';

export interface EventStages {
  partition: number;
  acceptedAt: number;
  mappedAt?: number;
}

/** Reads both topics from the beginning (the catch-up bounds the wait) and keeps the events of `ids`. */
export async function readStages(brokers: string[], ids: Set<string>): Promise<Map<string, EventStages>> {
  const stages = new Map<string, EventStages>();
  const inbound = await collectTopic(brokers, Topics.inboundEvents);
  try {
    for (const m of inbound.messages) {
      const id = m.headers[Headers.eventId];
      if (id && ids.has(id) && !stages.has(id))
        stages.set(id, { partition: m.partition, acceptedAt: Number(m.timestamp) });
    }
  } finally {
    await inbound.stop();
  }
  const updates = await collectTopic(brokers, Topics.entityUpdates);
  try {
    for (const m of updates.messages) {
      const at = stages.get(m.headers[Headers.eventId] ?? '');
      if (at && at.mappedAt === undefined) at.mappedAt = Number(m.timestamp);
    }
  } finally {
    await updates.stop();
  }
  return stages;
}

export interface StageBreakdown {
  /** Request sent → the gateway produced the inbound message. */
  accepted: LatencySummary;
  /** Inbound message → the mapper produced the event's first entity update. */
  mapped: LatencySummary;
  /** Entity update → its processed-entity message arrived here (the writer). */
  written: LatencySummary;
  /** The slowest events (request → processed), with their partition and each stage, ms after sending. */
  slowest: Array<{
    sentAtMs: number;
    partition: number;
    accepted: number;
    mapped: number;
    processed: number;
  }>;
  /** Per inbound partition: events, and the request → processed p99. */
  partitions: Record<string, { events: number; p99Ms: number }>;
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
  const rows: StageBreakdown['slowest'] = [];
  const byPartition = new Map<number, number[]>();
  for (const [id, sent] of sentAt) {
    const s = stages.get(id);
    const arrived = arrivals.get(id);
    if (!s || arrived === undefined || s.mappedAt === undefined) continue;
    accepted.push(s.acceptedAt - sent);
    mapped.push(s.mappedAt - s.acceptedAt);
    written.push(arrived - s.mappedAt);
    rows.push({
      sentAtMs: sent - origin,
      partition: s.partition,
      accepted: s.acceptedAt - sent,
      mapped: s.mappedAt - sent,
      processed: arrived - sent,
    });
    const list = byPartition.get(s.partition) ?? [];
    list.push(arrived - sent);
    byPartition.set(s.partition, list);
  }
  rows.sort((a, b) => b.processed - a.processed);
  return {
    accepted: summarise(accepted),
    mapped: summarise(mapped),
    written: summarise(written),
    slowest: rows.slice(0, 10),
    partitions: Object.fromEntries(
      [...byPartition].map(([p, list]) => {
        const s = summarise(list);
        return [String(p), { events: s.count, p99Ms: s.p99Ms }];
      }),
    ),
  };
}
