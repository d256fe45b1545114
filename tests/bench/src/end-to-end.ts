import { postEvents } from './api.js';
import { customerNumber, type Target, v3Event } from './fixtures.js';
import { dueAt, type PacedPlan } from './pacing.js';
import type { ProcessedWatch } from './processed.js';
import { type LatencySummary, perSecond, summarise } from './stats.js';

export const BATCH = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one phase of load sent and what the API answered. */
export interface LoadTally {
  requests: number;
  /** Events sent, whatever the answer. */
  sent: number;
  /** Answers other than 200 (by status), and requests with no answer. */
  refused: Record<string, number>;
  /** Events by result status: success, skipped, error, ignored. */
  events: Record<string, number>;
  /** Event id → when the request carrying it was sent, for every event answered `success`. */
  sentAt: Map<string, number>;
  /** Request → answer times. */
  requestMs: number[];
  startedAt: number;
  /** When the last answer arrived. */
  endedAt: number;
}

/**
 * Sends requests of 100 v3 events through the edge, integrations in turn, each event the next version
 * of a customer drawn at random from the pool, with a deduplication id of its own.
 */
export class Sender {
  private version = 0;
  private turn = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly targets: Target[],
    private readonly customers: number,
    private readonly random: () => number,
    private readonly runId: string,
  ) {}

  newTally(): LoadTally {
    const now = Date.now();
    return {
      requests: 0,
      sent: 0,
      refused: {},
      events: {},
      sentAt: new Map(),
      requestMs: [],
      startedAt: now,
      endedAt: now,
    };
  }

  async send(tally: LoadTally, batch = BATCH): Promise<void> {
    const target = this.targets[this.turn++ % this.targets.length]!;
    const events = Array.from({ length: batch }, () => {
      const customer = customerNumber(Math.floor(this.random() * this.customers));
      const version = ++this.version;
      return v3Event(target, customer, version, `${this.runId}-${version}`);
    });
    tally.requests++;
    tally.sent += batch;
    const sentAt = Date.now();
    const outcome = await postEvents(this.baseUrl, target, events);
    const answeredAt = Date.now();
    tally.requestMs.push(answeredAt - sentAt);
    tally.endedAt = Math.max(tally.endedAt, answeredAt);
    if (!outcome.results) {
      tally.refused[outcome.status] = (tally.refused[outcome.status] ?? 0) + 1;
      return;
    }
    for (const result of outcome.results) {
      tally.events[result.status] = (tally.events[result.status] ?? 0) + 1;
      if (result.status === 'success') tally.sentAt.set(result.event_id, sentAt);
    }
  }
}

/** Closed loop: `inFlight` requests at a time, each followed at once by the next, for `durationMs`. */
export async function closedLoop(sender: Sender, inFlight: number, durationMs: number): Promise<LoadTally> {
  const tally = sender.newTally();
  const until = tally.startedAt + durationMs;
  const worker = async () => {
    while (Date.now() < until) await sender.send(tally);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return tally;
}

/**
 * Open loop: requests sent on the plan's schedule whatever the answers do (at most `maxInFlight`
 * outstanding; a request held back by that cap counts as late).
 */
export async function openLoop(
  sender: Sender,
  plan: PacedPlan,
  maxInFlight = 64,
): Promise<LoadTally & { late: number }> {
  const tally = { ...sender.newTally(), late: 0 };
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < plan.requests; i++) {
    const due = dueAt(tally.startedAt, plan, i);
    if (Date.now() < due) await sleep(due - Date.now());
    if (pending.size >= maxInFlight) {
      tally.late++;
      await Promise.race(pending);
    }
    const request = sender.send(tally).finally(() => pending.delete(request));
    pending.add(request);
  }
  await Promise.all(pending);
  return tally;
}

/**
 * Waits until every event of the tally has its processed-entity message, or nothing more arrived for
 * `stallMs`, or `timeoutMs` passed. Returns how many arrived.
 */
export async function drain(
  watch: ProcessedWatch,
  tally: LoadTally,
  timeoutMs: number,
  stallMs = 30_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = -1;
  let movedAt = Date.now();
  for (;;) {
    let count = 0;
    for (const id of tally.sentAt.keys()) if (watch.arrivals.has(id)) count++;
    if (count === tally.sentAt.size) return count;
    if (count !== seen) {
      seen = count;
      movedAt = Date.now();
    }
    if (Date.now() > deadline || Date.now() - movedAt > stallMs) return count;
    await sleep(500);
  }
}

/** A phase's figures: answered and processed rates, and request → processed-message latency. */
export interface PhaseFigures {
  sent: number;
  accepted: number;
  acceptedPerSecond: number;
  /** From the first request to the last answer. */
  sendMs: number;
  processed: number;
  processedPerSecond: number;
  /** From the first request to the last processed message of the phase's events. */
  processMs: number;
  latency: LatencySummary;
  requests: number;
  refused: Record<string, number>;
  events: Record<string, number>;
  requestLatency: LatencySummary;
}

export function phaseFigures(tally: LoadTally, watch: ProcessedWatch): PhaseFigures {
  const latencies: number[] = [];
  let lastArrival = tally.startedAt;
  for (const [id, sentAt] of tally.sentAt) {
    const arrived = watch.arrivals.get(id);
    if (arrived === undefined) continue;
    latencies.push(arrived - sentAt);
    lastArrival = Math.max(lastArrival, arrived);
  }
  const sendMs = tally.endedAt - tally.startedAt;
  const processMs = lastArrival - tally.startedAt;
  return {
    sent: tally.sent,
    accepted: tally.sentAt.size,
    acceptedPerSecond: perSecond(tally.sentAt.size, sendMs),
    sendMs,
    processed: latencies.length,
    processedPerSecond: perSecond(latencies.length, processMs),
    processMs,
    latency: summarise(latencies),
    requests: tally.requests,
    refused: tally.refused,
    events: tally.events,
    requestLatency: summarise(tally.requestMs),
  };
}
