import os from 'node:os';
import type { MessageProducer } from '@hub/kafka';
import { countsBetween, type ManagedStack, type MongoCountingProxy } from '@hub/testing';
import { configRevision } from './api.js';
import {
  type CeilingResult,
  RAW_DATABASE,
  RAW_GATEWAY_DATABASE,
  rawDatabase,
  rawGateway,
  rawProducer,
} from './ceilings.js';
import { growth, mapperAlone, waitIdle, writerAlone } from './consumers.js';
import { cpuLimit, cpuPer, cpuTimes, servicesCpu, treeCpuTimes } from './cpu.js';
import { databaseLatency, databaseRates, databaseWork } from './database.js';
import { closedLoop, drain, openLoop, phaseFigures, Sender } from './end-to-end.js';
import type { Target } from './fixtures.js';
import type { Form } from './forms.js';
import { orderedUpdates } from './ordering.js';
import { pacedPlan } from './pacing.js';
import type { ProcessedWatch } from './processed.js';
import { type Figure, type PhaseOutcome, ratio } from './report.js';
import {
  breakdown,
  type CounterSource,
  type EventStages,
  handlerBetween,
  handlerWork,
  readStages,
  type StageBreakdown,
} from './stages.js';

/** What every step works with; each adds its figures and the details behind them. */
export interface Run {
  stack: ManagedStack;
  /** Between the services and the database: counts what they ask of it (`databaseWork`). */
  wire: MongoCountingProxy;
  form: Form;
  /** Integrations in organisations of their own; the last one sends without `group_id`. */
  targets: Target[];
  watch: ProcessedWatch;
  producer: MessageProducer;
  random: () => number;
  runId: string;
  log: (msg: string) => void;
  figures: Figure[];
  details: Record<string, unknown>;
  /** What each load phase got back, for the verdict (`benchVerdict`). */
  phases: Record<string, PhaseOutcome>;
}

const n = (x: number) => x.toLocaleString('en-US');
const value = (run: Run, key: Figure['key']) => run.figures.find((f) => f.key === key)?.value;

/** One request per integration, processed, before anything is timed (JIT, caches, consumer groups). */
export async function warmUp(run: Run): Promise<void> {
  const sender = new Sender(
    run.stack.baseUrl,
    run.targets,
    run.form.customers,
    run.random,
    `${run.runId}-warm`,
  );
  const tally = sender.newTally();
  for (const _ of run.targets) await sender.send(tally, 10);
  const processed = await drain(run.watch, tally, run.form.stepTimeoutMs);
  run.phases['warm-up'] = {
    refused: tally.refused,
    events: tally.events,
    accepted: tally.sentAt.size,
    processed,
  };
  run.details.warmUp = {
    requests: tally.requests,
    accepted: tally.sentAt.size,
    processed,
    refused: tally.refused,
  };
  if (tally.sentAt.size === 0 || processed < tally.sentAt.size) {
    throw new Error(`warm-up: ${tally.sentAt.size} events accepted, ${processed} processed`);
  }
}

export async function ceilingProducer(run: Run): Promise<void> {
  const { events, inFlight } = run.form.producer;
  const r = await rawProducer(run.stack.brokers, run.targets, {
    events,
    inFlight,
    customers: run.form.customers,
    random: run.random,
  });
  run.details.ceilingProducer = r;
  run.figures.push({
    key: 'ceiling.producer',
    section: 'ceilings',
    label: 'raw producer',
    value: r.perSecond,
    unit: 'events/s',
    count: r.events,
    durationMs: r.ms,
    note: `plain kafkajs, the gateway's messages, batches of 100, acks=all, ${inFlight} in flight`,
  });
}

/**
 * A ceiling run through the counting proxy, as the services' database traffic goes (the same hop for
 * both), with the documents and commands per second it sent to its own database.
 */
async function throughProxy(
  run: Run,
  database: string,
  ceiling: (mongoUrl: string) => Promise<CeilingResult>,
): Promise<{ r: CeilingResult; wire: ReturnType<typeof databaseRates> }> {
  const before = run.wire.counter.snapshot();
  const r = await ceiling(run.wire.url());
  return { r, wire: databaseRates(countsBetween(before, run.wire.counter.snapshot()), r.ms, database) };
}

export async function ceilingDatabase(run: Run): Promise<void> {
  const { events, lanes } = run.form.database;
  // Through the counting proxy, as the services' writes go: the same hop for both, and its documents
  // and commands per second for the limit the pipeline's own counts imply (limit.database).
  const { r, wire } = await throughProxy(run, RAW_DATABASE, (url) =>
    rawDatabase(url, run.targets, { events, lanes, customers: run.form.customers, random: run.random }),
  );
  run.details.ceilingDatabase = { ...r, wire };
  run.figures.push({
    key: 'ceiling.database',
    section: 'ceilings',
    label: 'raw database',
    value: r.perSecond,
    unit: 'events/s',
    count: r.events,
    durationMs: r.ms,
    note:
      'per 100 events (one request): insertMany claims, insert the request document and its marker, find $in entities, insertMany new + ' +
      `bulkWrite updateOne existing, insertMany monitoring; ${lanes} batches at once`,
  });
}

export async function ceilingGateway(run: Run): Promise<void> {
  const { events, inFlight } = run.form.gateway;
  const { r, wire } = await throughProxy(run, RAW_GATEWAY_DATABASE, (url) =>
    rawGateway(run.stack.brokers, url, run.targets, {
      events,
      inFlight,
      customers: run.form.customers,
      random: run.random,
    }),
  );
  run.details.ceilingGateway = { ...r, wire };
  run.figures.push({
    key: 'ceiling.gateway',
    section: 'ceilings',
    label: 'raw gateway',
    value: r.perSecond,
    unit: 'events/s',
    count: r.events,
    durationMs: r.ms,
    note: `per 100 events (one request): insertMany claims, insert the request document, produce 100 (acks=all), insert the marker; ${inFlight} at once; no HTTP`,
  });
}

/** Phase A (closed loop: the maximum sustained rate), then phase B (open loop at half of it). */
export async function endToEnd(run: Run): Promise<void> {
  const { inFlight, phaseAMs, phaseBMs, drainMs } = run.form.endToEnd;
  const sender = new Sender(run.stack.baseUrl, run.targets, run.form.customers, run.random, run.runId);
  run.log(`phase A: ${inFlight} requests of 100 in flight for ${phaseAMs / 1000} s`);
  const {
    figures: fa,
    cpuPerEventMs,
    database,
    mapperWithWorkersMs,
  } = await measuredLoad(run, 'phase A', sender);
  run.details.phaseA = { ...fa, cpuPerEventMs, database, mapperWithWorkersMs };
  const section = 'end to end';
  const over = `${inFlight} requests of 100 in flight, ${run.targets.length} integrations`;
  run.figures.push(
    {
      key: 'e2e.accepted',
      section,
      label: 'accepted (success)',
      value: fa.acceptedPerSecond,
      unit: 'events/s',
      count: fa.accepted,
      durationMs: fa.sendMs,
      note: `closed loop, ${over}`,
    },
    {
      key: 'e2e.processed',
      section,
      label: 'processed = max sustained',
      value: fa.processedPerSecond,
      unit: 'events/s',
      count: fa.processed,
      durationMs: fa.processMs,
      note: `${n(fa.processed)} of ${n(fa.accepted)} accepted arrived; first request → last processed-entity message`,
    },
    {
      key: 'e2e.latency.p50',
      section,
      label: 'request → processed p50',
      value: fa.latency.p50Ms,
      unit: 'ms',
      count: fa.processed,
    },
    {
      key: 'e2e.latency.p95',
      section,
      label: 'request → processed p95',
      value: fa.latency.p95Ms,
      unit: 'ms',
      count: fa.processed,
    },
    {
      key: 'e2e.latency.p99',
      section,
      label: 'request → processed p99',
      value: fa.latency.p99Ms,
      unit: 'ms',
      count: fa.processed,
    },
  );
  perEventFigures(run, cpuPerEventMs, database, mapperWithWorkersMs);
  await waitIdle(run.stack, run.form.stepTimeoutMs); // phase A's backlog must not delay phase B
  const half = fa.processedPerSecond / 2;
  const plan = pacedPlan(half, 100, phaseBMs);
  run.log(
    `phase B: open loop at ${half.toFixed(1)} events/s (${plan.requests} requests, one every ${(plan.intervalMs / 1000).toFixed(2)} s)`,
  );
  const counter: CounterSource = (service, metric) => run.stack.counter(service, 0, metric);
  const workBefore = await Promise.all([
    handlerWork(counter, 'mapper'),
    handlerWork(counter, 'entity-writer'),
  ]);
  const wireFrom = performance.now();
  const b = await openLoop(sender, plan);
  const drainedB = await drain(run.watch, b, drainMs);
  const databaseB = databaseLatency(run.wire.counter.timingsBetween(wireFrom, performance.now()));
  const workAfter = await Promise.all([
    handlerWork(counter, 'mapper'),
    handlerWork(counter, 'entity-writer'),
  ]);
  const handlers = {
    mapper: handlerBetween(workBefore[0], workAfter[0]),
    writer: handlerBetween(workBefore[1], workAfter[1]),
  };
  run.phases['phase B'] = {
    refused: b.refused,
    events: b.events,
    accepted: b.sentAt.size,
    processed: drainedB,
  };
  const fb = phaseFigures(b, run.watch);
  // Where the half-rate latency goes (issue 22): each event's time split by the topics' timestamps.
  const stages = await readStages(run.stack.brokers, new Set(b.sentAt.keys())).catch((err: Error) => {
    run.log(`phase B: reading the stages failed (their figures are missing): ${err.message}`);
    return new Map<string, EventStages>();
  });
  const split = breakdown(b.sentAt, run.watch.arrivals, stages, b.startedAt);
  run.details.phaseB = {
    ...fb,
    offeredPerSecond: half,
    late: b.late,
    plan,
    stages: split,
    handlers,
    databaseLatency: databaseB.slice(0, 30),
  };
  run.figures.push(
    {
      key: 'e2e.half.offered',
      section,
      label: 'half rate: offered',
      value: half,
      unit: 'events/s',
      count: fb.sent,
      durationMs: plan.requests * plan.intervalMs,
      note: `open loop; accepted ${n(fb.accepted)}, processed ${n(fb.processed)}`,
    },
    {
      key: 'e2e.half.latency.p99',
      section,
      label: 'half rate: request → processed p99',
      value: fb.latency.p99Ms,
      unit: 'ms',
      count: fb.processed,
      note: `p50 ${Math.round(fb.latency.p50Ms)} ms`,
    },
    ...halfRateStages(split, handlers, fb.processed),
  );
}

/**
 * The half-rate latency split by stage (p99 as the value, p50 in the note), from the topics' timestamps
 * (`stages.ts`), with the mapper's and the writer's handler calls over the phase: milliseconds in the
 * handler per call against the stage's latency tells waiting from working.
 */
function halfRateStages(
  split: StageBreakdown,
  handlers: Record<'mapper' | 'writer', ReturnType<typeof handlerBetween>>,
  processed: number,
): Figure[] {
  const calls = (h: ReturnType<typeof handlerBetween>) =>
    `${n(h.calls)} handler calls of ${h.messagesPerCall.toFixed(0)} messages offered, ${h.msPerCall.toFixed(1)} ms each`;
  const rows: Array<[Figure['key'], string, StageBreakdown['accepted'], string]> = [
    [
      'e2e.half.stage.accepted',
      'half rate: request → accepted p99',
      split.accepted,
      'request sent → the gateway produced the inbound message',
    ],
    [
      'e2e.half.stage.mapped',
      'half rate: accepted → mapped p99',
      split.mapped,
      `inbound message → the mapper produced the first entity update; mapper: ${calls(handlers.mapper)}`,
    ],
    [
      'e2e.half.stage.written',
      'half rate: mapped → written p99',
      split.writer,
      `entity update → the writer produced the processed message; writer: ${calls(handlers.writer)}`,
    ],
    [
      'e2e.half.stage.arrived',
      'half rate: written → arrived p99',
      split.arrived,
      "processed message → the bench's watch got it",
    ],
  ];
  return rows.map(([key, label, s, how]) => ({
    key,
    section: 'end to end',
    label,
    value: s.p99Ms,
    unit: 'ms',
    count: s.count,
    note: `p50 ${Math.round(s.p50Ms)} ms; ${how}${s.count < processed ? ` (${n(s.count)} of ${n(processed)} events found on the topics)` : ''}`,
  }));
}

/**
 * One closed loop like phase A (requests of 100, `inFlight` at a time, for phaseAMs), drained, with
 * what it cost: CPU per processed event by process, and the database's work per processed event
 * counted at the wire (`databaseWork`), both over the same window (first request → drained).
 */
export async function measuredLoad(run: Run, phase: string, sender: Sender) {
  const { inFlight, phaseAMs, drainMs } = run.form.endToEnd;
  const cpuBefore = cpuTimes(run.stack.processes());
  // The same with each service's child processes (the mapper's mapping workers), shown beside it.
  const treeBefore = treeCpuTimes(run.stack.processes());
  const wireBefore = run.wire.counter.snapshot();
  const tally = await closedLoop(sender, inFlight, phaseAMs);
  const drained = await drain(run.watch, tally, drainMs);
  run.phases[phase] = {
    refused: tally.refused,
    events: tally.events,
    accepted: tally.sentAt.size,
    processed: drained,
  };
  const figures = phaseFigures(tally, run.watch);
  // Where the machine's time went, per processed event (which component holds the rate back).
  const cpuPerEventMs = cpuPer(cpuBefore, cpuTimes(run.stack.processes()), figures.processed);
  const withWorkers = servicesCpu(
    cpuPer(treeBefore, treeCpuTimes(run.stack.processes()), figures.processed),
  ).byService;
  const database = databaseWork(countsBetween(wireBefore, run.wire.counter.snapshot()), figures.processed);
  return { figures, cpuPerEventMs, database, mapperWithWorkersMs: withWorkers.mapper };
}

/**
 * Phase A's cost per processed event (issue 22): documents written and commands, counted at the
 * database; the hub services' own CPU; and the rates they imply on this machine.
 */
function perEventFigures(
  run: Run,
  cpuPerEventMs: Record<string, number>,
  database: ReturnType<typeof databaseWork>,
  mapperWithWorkersMs?: number,
): void {
  const section = 'database and CPU per event';
  const cores = os.availableParallelism();
  const { services, byService } = servicesCpu(cpuPerEventMs);
  const ceiling = (run.details.ceilingDatabase as { wire?: ReturnType<typeof databaseRates> } | undefined)
    ?.wire;
  const top = database.collections
    .slice(0, 4)
    .map(
      (c) =>
        `${c.collection.replace(/^erp_hub\./, '')} ${(c.written / Math.max(1, database.events)).toFixed(2)}`,
    )
    .join(', ');
  const ms = (x: number | undefined) => (x === undefined ? '?' : x.toFixed(2));
  run.figures.push(
    {
      key: 'e2e.db.documents',
      section,
      label: 'database documents written per processed event',
      value: database.documentsPerEvent,
      unit: 'docs/event',
      count: database.events,
      note: `phase A, counted at the wire (inserted + modified + upserted + deleted): ${top}; goal ≤ 3`,
    },
    {
      key: 'e2e.db.commands',
      section,
      label: 'database commands per processed event',
      value: database.commandsPerEvent,
      unit: 'commands/event',
      count: database.events,
      note: `phase A, ${n(database.commands)} commands carrying ${n(database.statements)} write statements; handshakes and heartbeats (${n(database.overheadCommands)}) left out`,
    },
    {
      key: 'e2e.cpu.services',
      section,
      label: "hub services' own CPU per processed event",
      value: services,
      unit: 'ms/event',
      count: database.events,
      note:
        `phase A: gateway ${ms(byService['ingest-gateway'])} + mapper ${ms(byService.mapper)} + writer ${ms(byService['entity-writer'])} + ` +
        `config-service ${ms(byService['config-service'])} + edge ${ms(byService.edge)}; all processes ${ms(cpuPerEventMs.total)}; goal ≤ 0.5; ` +
        `the mapper with its mapping workers (child processes, not counted above) ${ms(mapperWithWorkersMs)}`,
    },
    {
      key: 'limit.database',
      section,
      label: "limit: the database's write rate / documents per event",
      value: ceiling ? ceiling.documentsPerSecond / database.documentsPerEvent : Number.NaN,
      unit: 'events/s',
      note: ceiling
        ? `the raw ceiling wrote ${n(Math.round(ceiling.documentsPerSecond))} documents/s (${n(Math.round(ceiling.commandsPerSecond))} commands/s of 100 documents), counted the same way`
        : 'no raw database ceiling through the proxy in this run',
    },
    {
      key: 'limit.services_cpu',
      section,
      label: `limit: ${cores} cores / services' CPU per event`,
      value: cpuLimit(cores, services),
      unit: 'events/s',
      note: `if nothing else ran; all processes' CPU per event (${ms(cpuPerEventMs.total)} ms) → ${n(Math.round(cpuLimit(cores, cpuPerEventMs.total ?? Number.NaN)))} events/s`,
    },
  );
}

export async function ordering(run: Run): Promise<void> {
  const { requests, batch } = run.form.ordering;
  const wireFrom = performance.now();
  const r = await orderedUpdates(run.stack.baseUrl, run.targets[0]!, run.watch, {
    customer: `ORDER-${run.runId}`,
    requests,
    batch,
    runId: run.runId,
    timeoutMs: run.form.stepTimeoutMs,
  });
  // Where the time goes (issue 22): per request, when its last event was accepted, mapped, written and
  // arrived, ms after the first request was sent (the topics' timestamps, `stages.ts`).
  const stages = await readStages(run.stack.brokers, new Set(r.requests.map((q) => q.lastEventId))).catch(
    (err: Error) => {
      run.log(`ordering: reading the stages failed: ${err.message}`);
      return new Map<string, EventStages>();
    },
  );
  const perRequest = r.requests.map((q) => {
    const s = stages.get(q.lastEventId);
    const at = (t: number | undefined) => (t === undefined ? undefined : t - r.startedAt);
    return {
      ...q,
      acceptedMs: at(s?.acceptedAt),
      mappedMs: at(s?.mappedAt),
      writtenMs: at(s?.writtenAt),
      arrivedMs: at(run.watch.arrivals.get(q.lastEventId)),
    };
  });
  run.details.ordering = {
    ...r,
    requests: perRequest,
    databaseLatency: databaseLatency(run.wire.counter.timingsBetween(wireFrom, performance.now())).slice(
      0,
      30,
    ),
  };
  const last = perRequest.at(-1)!;
  const ms = (x: number | undefined) => (x === undefined ? '?' : `${Math.round(x)}`);
  const label = `${n(r.updates)} ordered updates of one entity`;
  run.figures.push(
    {
      key: 'ordering.processed',
      section: 'ordering',
      label: `${label} → last processed`,
      value: r.toProcessedMs,
      unit: 'ms',
      count: r.processed,
      note:
        `${requests} requests of ${batch}, one after the other; the last update answered at ${ms(last.answeredMs)} ms, ` +
        `mapped ${ms(last.mappedMs)}, written ${ms(last.writtenMs)}, arrived ${ms(last.arrivedMs)} (per request: details.ordering)`,
    },
    {
      key: 'ordering.visible',
      section: 'ordering',
      label: `${label} → visible`,
      value: r.toVisibleMs,
      unit: 'ms',
      count: r.updates,
      note: 'last value read back by GET /v1/entity/contact',
    },
  );
}

/**
 * The gateway's own ceiling: with the mapper, the writer and the config-service (its monitoring sink)
 * stopped, the same closed loop as phase A through the edge; only the gateway's work (validation,
 * claims, stored events, the hand-over to Kafka, acceptance) and the edge remain. The stopped services
 * are started again and left to catch up before the next step.
 */
export async function gatewayAlone(run: Run): Promise<void> {
  await waitIdle(run.stack, run.form.stepTimeoutMs);
  const { inFlight, phaseAMs } = run.form.endToEnd;
  const durationMs = Math.max(5_000, phaseAMs / 4);
  const downstream = ['mapper', 'entity-writer', 'config-service'] as const;
  for (const name of downstream) await run.stack.stop(name, 0);
  let tally: Awaited<ReturnType<typeof closedLoop>>;
  try {
    const sender = new Sender(
      run.stack.baseUrl,
      run.targets,
      run.form.customers,
      run.random,
      `${run.runId}-gw`,
    );
    tally = await closedLoop(sender, inFlight, durationMs);
  } finally {
    for (const name of ['config-service', 'mapper', 'entity-writer'] as const)
      await run.stack.startInstance(name, 0);
  }
  const accepted = tally.sentAt.size;
  const ms = tally.endedAt - tally.startedAt;
  // Nothing processes while the consumers are stopped: only the answers count here.
  run.phases['gateway alone'] = { refused: tally.refused, events: tally.events, accepted };
  run.details.gatewayAlone = { accepted, ms, requests: tally.requests, refused: tally.refused };
  run.figures.push({
    key: 'alone.gateway',
    section: 'consumers alone',
    label: 'gateway alone (accepted)',
    value: (accepted * 1000) / ms,
    unit: 'events/s',
    count: accepted,
    durationMs: ms,
    note: `closed loop through the edge, ${inFlight} requests of 100 in flight; mapper, writer and config-service stopped`,
  });
  await waitIdle(run.stack, run.form.stepTimeoutMs);
}

export async function consumersAlone(run: Run): Promise<void> {
  await waitIdle(run.stack, run.form.stepTimeoutMs);
  const { events } = run.form.alone;
  const target = run.targets[0]!;
  const timeoutMs = run.form.stepTimeoutMs;
  const writer = await writerAlone(run.stack, run.producer, target, {
    count: events,
    customers: run.form.customers,
    random: run.random,
    timeoutMs,
  });
  run.figures.push({
    key: 'alone.writer',
    section: 'consumers alone',
    label: 'writer alone',
    value: writer.perSecond,
    unit: 'updates/s',
    count: writer.count,
    durationMs: writer.ms,
    note: 'entity updates pre-filled on erp.entity.updates, pool customers',
  });
  const revision = await configRevision(run.stack.brokers, target.integrationId);
  const mapper = await mapperAlone(run.stack, run.producer, target, {
    count: events,
    customers: run.form.customers,
    revision,
    random: run.random,
    timeoutMs,
  });
  run.figures.push({
    key: 'alone.mapper',
    section: 'consumers alone',
    label: 'mapper alone',
    value: mapper.perSecond,
    unit: 'events/s',
    count: mapper.count,
    durationMs: mapper.ms,
    note: `inbound events pre-filled on erp.inbound.events (config revision ${revision})`,
  });
  run.details.alone = { writer, mapper, revision };
}

export async function writerGrowth(run: Run, target: Target): Promise<void> {
  const { sizes, updates } = run.form.growth;
  const [small, large] = await growth(
    run.stack,
    run.producer,
    target,
    { sizes, updates, random: run.random, timeoutMs: run.form.stepTimeoutMs },
    run.log,
  );
  run.details.growth = { small, large };
  for (const [key, r] of [
    ['growth.small', small],
    ['growth.large', large],
  ] as const) {
    if (!r) continue;
    run.figures.push({
      key,
      section: 'growth',
      label: `writer upserts, ${n(r.stored)} entities stored`,
      value: r.perSecond,
      unit: 'updates/s',
      count: r.count,
      durationMs: r.ms,
      note: `updates of random existing entities; filled through the writer in ${(r.fillMs / 1000).toFixed(0)} s`,
    });
  }
}

/** The ratios the issue's targets are stated in. */
export function ratios(run: Run): void {
  const [small, large] = run.form.growth.sizes;
  run.figures.push(
    {
      key: 'ratio.gateway_to_producer',
      section: 'ratios',
      label: 'gateway alone / raw producer',
      value: ratio(value(run, 'alone.gateway'), value(run, 'ceiling.producer')),
      unit: '×',
      note: 'against the bare producer (issue 11); issue 22 states its target against the raw gateway below',
    },
    {
      key: 'ratio.gateway_to_ceiling',
      section: 'ratios',
      label: 'gateway alone / raw gateway',
      value: ratio(value(run, 'alone.gateway'), value(run, 'ceiling.gateway')),
      unit: '×',
      note: 'target ≥ 0.6 (issue 22: the raw producer plus the same claim writes, in one run)',
    },
    {
      key: 'ratio.e2e_accepted_to_producer',
      section: 'ratios',
      label: 'end-to-end accepted / raw producer',
      value: ratio(value(run, 'e2e.accepted'), value(run, 'ceiling.producer')),
      unit: '×',
      note: 'the gateway while the whole pipeline runs',
    },
    {
      key: 'ratio.processed_to_database',
      section: 'ratios',
      label: 'end-to-end processed / raw database',
      value: ratio(value(run, 'e2e.processed'), value(run, 'ceiling.database')),
      unit: '×',
      note: 'target ≥ 0.8 when the database ceiling is below 1,667 events/s',
    },
    {
      key: 'ratio.growth',
      section: 'ratios',
      label: `writer at ${n(large)} / at ${n(small)} entities`,
      value: ratio(value(run, 'growth.large'), value(run, 'growth.small')),
      unit: '×',
      note: 'target ≥ 0.8',
    },
  );
}
