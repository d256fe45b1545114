// The chaos test (issue 5): steady load through the public API while service instances are SIGKILLed and
// restarted, a consumer is scaled from one instance to two and back, and the broker and the database are
// restarted, and the broker's answers to the gateway's produce requests are lost after it wrote them
// (the ambiguous produce), all on a local stack of its own. Then it checks that nothing accepted was lost or applied
// twice and prints a report. `npm run chaos` (long form), `npm run chaos -- --short` (the `npm test` step).
// `--cluster` (issue 23): on a three-broker cluster, with a broker SIGKILLed under load, a rolling restart of
// the three and partition leaders moved on purpose instead of the one broker's restart.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Headers, Topics } from '@hub/contracts';
import { signToken } from '@hub/http';
import { PRODUCER_RETRIES } from '@hub/kafka';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import {
  collectTopic,
  KafkaProxy,
  ManagedStack,
  type ServiceName,
  seededRandom,
  type TopicCollector,
} from '@hub/testing';
import {
  analyse,
  type DeadLetter,
  type ProcessedRecord,
  quantile,
  type Report,
  type RunFacts,
  type StoredEntity,
  unavailableWithin,
  verdict,
} from './analysis.js';
import { LoadGenerator } from './load.js';
import { copiesOf, logTrail } from './trail.js';

const REPO = path.resolve(import.meta.dirname, '../../..');

const { values: args } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
    'max-events': { type: 'string' },
    customers: { type: 'string' },
    rate: { type: 'string' },
    seed: { type: 'string' },
  },
});
// The load runs until the last fault is over (plus a tail); the gaps between faults set the length.
// 20× the offered load of the first chaos runs (15 and 25 events/s), in requests of 100 (issue 11).
const cluster = args.cluster;
const form = args.short
  ? { name: 'short', customers: 300, rate: 300, batch: 100, gapMs: [2_000, 6_000] as const }
  : { name: 'long', customers: 600, rate: 500, batch: 100, gapMs: [8_000, 20_000] as const };
/** The report's name: `short`, `long`, `short-cluster`, `long-cluster`. */
const formName = cluster ? `${form.name}-cluster` : form.name;
const plan = {
  maxEvents: Number(args['max-events'] ?? 1_000_000),
  customers: Number(args.customers ?? form.customers),
  rate: Number(args.rate ?? form.rate),
  batch: form.batch,
  /** Ten seconds' worth of the planned rate: the least a run must accept to prove anything. */
  minimumAccepted: Number(args.rate ?? form.rate) * 10,
};
const seed = Number(args.seed ?? Date.now() % 1_000_000);
const random = seededRandom(seed);
const runId = `chaos-${seed}-${Date.now().toString(36)}`;
const outDir = path.join(REPO, '.local/chaos');
const log = (msg: string) =>
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (lo: number, hi: number) => lo + random() * (hi - lo);

interface Fault {
  name: string;
  /** May return a note for the report (e.g. the work a second instance did before it was removed). */
  run: (stack: ManagedStack) => Promise<unknown>;
}

const killAndRestart = (name: ServiceName, pick: 'first' | 'any' = 'first'): Fault => ({
  name: `SIGKILL ${name}`,
  run: async (stack) => {
    const running = stack.running(name);
    const index = pick === 'any' ? running[Math.floor(random() * running.length)]! : (running[0] ?? 0);
    await stack.kill(name, index);
    await sleep(between(300, 2_500));
    await stack.startInstance(name, index);
  },
});
const WORK_METRIC: Partial<Record<ServiceName, string>> = {
  mapper: 'hub_mapped_events_total',
  'entity-writer': 'hub_entity_writes_total',
};
const scale = (name: ServiceName, to: 1 | 2): Fault => ({
  name: `scale ${name} ${to === 2 ? '1→2' : '2→1'}`,
  run: async (stack) => {
    if (to === 2) return stack.startInstance(name, 1);
    // Evidence that the group shared the work: what the second instance did while it ran.
    const done = await stack.counter(name, 1, WORK_METRIC[name]!).catch(() => Number.NaN);
    await stack.stop(name, 1);
    return `the second instance handled ${done} messages before its ordered shutdown`;
  },
});

/**
 * An election (issue 18): the services reach the database through the fault injector (a replica set
 * primary, see libs/testing), which for 5 s has no primary. `secondary`: a stepdown, drivers wait for a
 * primary; `primary`: an election behind a mongos, every write and primary read is refused meanwhile.
 */
const election = (hello: 'secondary' | 'primary'): Fault => ({
  name: `election, 5 s (hello ${hello})`,
  run: async (stack) => {
    await stack.injector.election({ seconds: 5, hello });
    return `${stack.injector.stats.refusedByElection} commands refused by elections so far`;
  },
});

/**
 * The ambiguous produce (issue 24): the gateway reaches the broker through a proxy (`KafkaProxy`, for the
 * whole run), which for a few seconds lets the broker write each produce request and loses its answer.
 * The gateway answers 503 without knowing whether its events were written; the load retries them, and
 * each change must still be applied once.
 */
let gatewayProxy: KafkaProxy | undefined;
/**
 * A send's attempts: kafkajs's first try and its retries (libs/kafka `PRODUCER_RETRIES`). Shorter than all
 * of them, the fault is absorbed by the idempotent producer (a retry after the answers come back is
 * acknowledged as a duplicate): the first short runs lost 2 answers and the gateway never saw a failure,
 * and so did the long run after the retries went from 5 to 8 while this stayed 6.
 */
const ATTEMPTS_PER_SEND = PRODUCER_RETRIES + 1;
const loseProduceAnswers: Fault = {
  name: 'lose produce answers (gateway)',
  run: async () => {
    const proxy = gatewayProxy!;
    const before = proxy.counts.lostAnswers;
    proxy.loseProduceAnswers();
    // The load sends one request at a time: this many lost answers in a row are one send that failed.
    const deadline = Date.now() + 30_000;
    await sleep(3_000);
    while (proxy.counts.lostAnswers - before < ATTEMPTS_PER_SEND && Date.now() < deadline) await sleep(200);
    proxy.heal();
    return `${proxy.counts.lostAnswers - before} produce answers lost after the broker wrote`;
  },
};

/** Every topic of the hub and the consumer offsets: what must be back in sync before the next broker stops. */
const REPLICATED_TOPICS = [...Object.values(Topics), '__consumer_offsets'];
/** How long a SIGKILLed broker stays down: long enough for its leaderships to move and the load to feel it. */
const BROKER_DOWN_MS = 15_000;

/**
 * A broker of the cluster SIGKILLed under load (issue 23): its partitions get new leaders among the two left
 * (min.insync.replicas 2 still met), and the API must keep answering `success`. Restarted after 15 s.
 */
const killBroker: Fault = {
  name: 'SIGKILL a broker (down 15 s)',
  run: async (stack) => {
    const ids = stack.brokerIds();
    const id = ids[Math.floor(random() * ids.length)]!;
    await stack.stopBroker(id, { kill: true });
    await sleep(BROKER_DOWN_MS);
    await stack.startBroker(id);
    const inSync = await stack.waitInSync(REPLICATED_TOPICS);
    return `broker ${id} SIGKILLed, restarted after ${BROKER_DOWN_MS / 1000} s, in sync again ${(inSync / 1000).toFixed(1)} s later`;
  },
};

/**
 * A rolling restart, as for an upgrade: each broker in turn stopped with SIGTERM (a controlled shutdown: its
 * leaderships move first), started, and every replica back in sync before the next one.
 */
const rollingRestart: Fault = {
  name: 'rolling restart of the 3 brokers',
  run: async (stack) => {
    const took: string[] = [];
    for (const id of stack.brokerIds()) {
      const started = Date.now();
      await stack.stopBroker(id);
      await stack.startBroker(id);
      await stack.waitInSync(REPLICATED_TOPICS);
      took.push(`broker ${id} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    return `one at a time, each in sync before the next: ${took.join(', ')}`;
  },
};

/** Every partition's leader moved to another in-sync replica (reassignment + preferred election). */
const moveLeaders: Fault = {
  name: 'move every partition leader',
  run: (stack) => stack.moveLeaders(Object.values(Topics)),
};

const faults: Fault[] = [
  killAndRestart('mapper'),
  killAndRestart('entity-writer'),
  scale('entity-writer', 2),
  killAndRestart('ingest-gateway'),
  // The cluster's faults in place of the one broker's restart and of the ambiguous produce (its proxy stands
  // in front of one broker; the ambiguous produce is proven on one broker).
  ...(cluster
    ? [killBroker, moveLeaders]
    : [
        { name: 'restart the Kafka broker', run: (s: ManagedStack) => s.restartBroker() },
        loseProduceAnswers,
      ]),
  killAndRestart('entity-writer', 'any'),
  { name: 'restart the database', run: (s) => s.restartDatabase() },
  killAndRestart('mapper'),
  election('primary'),
  scale('entity-writer', 1),
];
/**
 * `CHAOS_SOAK_DATABASE=N`: instead of the plan above, N rounds of a service killed and restarted and then
 * the database restarted: a soak for the Mongo client's recovery after a database restart (issue 18: the
 * wedged client, docs/adr/0013 item 9).
 */
const soakRounds = Number(process.env.CHAOS_SOAK_DATABASE ?? 0);
if (soakRounds > 0) {
  const services: ServiceName[] = ['entity-writer', 'ingest-gateway', 'config-service'];
  faults.splice(0, faults.length);
  for (let i = 0; i < soakRounds; i++) {
    faults.push(killAndRestart(services[i % services.length]!), {
      name: 'restart the database',
      run: (s) => s.restartDatabase(),
    });
  }
} else if (form.name === 'long') {
  faults.splice(3, 0, scale('mapper', 2));
  faults.splice(7, 0, killAndRestart('mapper', 'any'), killAndRestart('ingest-gateway'));
  faults.push(scale('mapper', 1), election('secondary'), killAndRestart('entity-writer'));
}
if (cluster) faults.push(rollingRestart, killBroker);

interface FaultRecord {
  name: string;
  /** How long the API answered 503 from the fault until it was over (`unavailableWithin`), and how often. */
  unavailableMs?: number;
  answers503?: number;
  /** Request → processed p99 of the changes first sent while the fault lasted. */
  p99Ms?: number;
  note?: string;
  at: number;
  back: number;
  /** From the fault until the API answered `success` again. */
  acceptingMs?: number;
  /** From the fault until processed-entity messages flowed again after the component was back. */
  recoveredMs?: number;
  error?: string;
}

async function main(): Promise<number> {
  const ports = {
    // Below Linux's ephemeral range (32768-60999), where an outgoing connection may hold a port.
    base: Number(process.env.CHAOS_PORT_BASE ?? 21080),
    kafka: Number(process.env.CHAOS_KAFKA_PORT ?? 21092),
    controller: Number(process.env.CHAOS_KAFKA_CONTROLLER_PORT ?? 21093),
    mongo: Number(process.env.CHAOS_MONGO_PORT ?? 21017),
  };
  // The services reach FerretDB through the fault injector for the whole run (the election faults).
  const mongoInjectorPort = Number(process.env.CHAOS_MONGO_INJECTOR_PORT ?? 21019);
  log(
    `${formName} form, seed ${seed}: ${faults.length} faults, load over ${plan.customers} customers at ${plan.rate}/s${cluster ? ', on 3 brokers' : ''}`,
  );
  // The gateway's way to the broker, for the ambiguous produce (port: the stack's base + 19, unused by it).
  if (!cluster) gatewayProxy = await KafkaProxy.start(`127.0.0.1:${ports.kafka}`, ports.base + 19);
  const stack = new ManagedStack({
    name: 'chaos',
    ports,
    mongoInjectorPort,
    // Shorter waits than production so a killed instance's partitions move on quickly.
    env: { SHUTDOWN_TIMEOUT_MS: '15000' },
    ...(gatewayProxy ? { serviceEnv: { 'ingest-gateway': { KAFKA_BROKERS: gatewayProxy.address } } } : {}),
    ...(cluster ? { kafkaNodes: 3 as const } : {}),
  });
  const started = Date.now();
  let live: TopicCollector | undefined;
  try {
    const interrupted = () => {
      log('interrupted: stopping the chaos stack');
      void stack.close().finally(() => process.exit(130));
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    await stack.start();
    log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${stack.baseUrl}`);
    const org = runId;
    const token = signToken({
      secret: stack.authSecret,
      issuer: stack.authIssuer,
      audience: stack.authAudience,
      orgId: org,
      expiresInSeconds: 6 * 3600,
    });
    const integrationId = await createIntegration(stack.baseUrl, token);
    live = await collectTopic(stack.brokers, Topics.entitiesProcessed);
    const seenAt = stampArrivals(live);

    const load = new LoadGenerator(stack.baseUrl, token, integrationId, runId, { ...plan, random });
    const loadStarted = Date.now();
    let loadError: unknown;
    const sending = load.run().catch((err) => {
      loadError = err;
    });
    const records: FaultRecord[] = [];
    await sleep(5_000);
    for (const fault of faults) {
      await sleep(between(form.gapMs[0], form.gapMs[1]));
      if (loadError) break;
      const record: FaultRecord = { name: fault.name, at: Date.now(), back: 0 };
      log(`fault: ${fault.name}`);
      try {
        const note = await fault.run(stack);
        if (typeof note === 'string') record.note = note;
      } catch (err) {
        record.error = (err as Error).message;
        log(`fault ${fault.name} failed: ${record.error}`);
      }
      record.back = Date.now();
      records.push(record);
    }
    await sleep(10_000); // a tail of load after the last fault, to see it recover
    load.stop();
    await sending;
    if (loadError) throw loadError;
    const sendMs = Date.now() - loadStarted;
    log(`load done in ${(sendMs / 1000).toFixed(1)} s: ${JSON.stringify(load.stats)}`);

    // Drain: read the processed topic afresh (no more faults), until every accepted change is there or
    // nothing has moved for a while.
    const accepted = load.changes.filter((c) => c.outcome === 'accepted' || c.outcome === 'accepted-earlier');
    // The whole run's messages (tens of thousands after a long run): more than the default 30 s to catch up.
    const final = await collectTopic(stack.brokers, Topics.entitiesProcessed, { catchUpMs: 180_000 });
    const drainStarted = Date.now();
    let processed: ProcessedRecord[] = [];
    for (let lastCount = -1, still = Date.now(); ; ) {
      processed = processedRecords(final, org, seenAt);
      const keys = new Set(processed.map((p) => `${p.customer}:${p.seq}`));
      const missing = accepted.filter((c) => !keys.has(c.key)).length;
      if (missing === 0) break;
      if (processed.length !== lastCount) {
        lastCount = processed.length;
        still = Date.now();
      } else if (Date.now() - still > 90_000) {
        log(`no progress for 90 s; ${missing} accepted changes not processed`);
        break;
      }
      await sleep(1_000);
    }
    await sleep(3_000); // late duplicates would show up here
    processed = processedRecords(final, org, seenAt);
    const drainMs = Date.now() - drainStarted;
    await final.stop();

    const dead = await collectTopic(stack.brokers, Topics.deadLetters, { catchUpMs: 180_000 });
    await sleep(3_000);
    const deadLetters: DeadLetter[] = dead.messages
      .filter((m) => m.headers[Headers.orgId] === org && m.value)
      .map((m) => {
        const eventId = m.headers[Headers.eventId];
        const value = JSON.parse(m.value!.toString('utf8')) as { error: { code: string } };
        return { code: value.error.code, ...(eventId ? { eventId } : {}) };
      });
    await dead.stop();

    const store = await MongoStore.connect({
      url: stack.mongoUrl,
      logger: createLogger({ service: 'chaos', level: 'warn' }),
      appName: 'chaos-check',
    });
    let stored: StoredEntity[];
    let monitored: Set<string>;
    try {
      stored = await storedEntities(store, org);
      monitored = await finalMonitoringRecords(store, org, new Set(processed.map((p) => p.eventId)));
    } finally {
      await store.close();
    }
    const report = analyse(load.changes, processed, deadLetters, stored, monitored);
    const seenLive = processed.filter((p) => Number.isFinite(p.receivedAt));
    const sentAt = new Map(load.changes.map((c) => [c.key, c.sentAt]));
    const arrivals = seenLive.map((p) => p.receivedAt).sort((a, b) => a - b);
    for (const r of records) {
      const unavailable = unavailableWithin(load.answers, r.at, r.back);
      r.unavailableMs = unavailable.ms;
      r.answers503 = unavailable.answers503;
      const during = seenLive
        .filter((p) => {
          const sent = sentAt.get(`${p.customer}:${p.seq}`);
          return sent !== undefined && sent >= r.at && sent <= r.back;
        })
        .map((p) => p.receivedAt - sentAt.get(`${p.customer}:${p.seq}`)!);
      if (during.length > 0) r.p99Ms = quantile(during, 0.99);
      const accepting = load.acceptedAt.find((t) => t >= r.at);
      if (accepting !== undefined) r.acceptingMs = accepting - r.at;
      const flowing = arrivals.find((t) => t >= r.back);
      if (flowing !== undefined) r.recoveredMs = flowing - r.at;
    }
    const latencies = seenLive
      .map((p) => p.receivedAt - (sentAt.get(`${p.customer}:${p.seq}`) ?? p.receivedAt))
      .sort((a, b) => a - b);
    const pct = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    const latency = {
      p50Ms: pct(0.5),
      p95Ms: pct(0.95),
      p99Ms: pct(0.99),
      maxMs: latencies.at(-1) ?? 0,
      notSeenLive: processed.length - seenLive.length,
    };
    const summary = {
      form: formName,
      brokers: cluster ? 3 : 1,
      seed,
      plan,
      durationSeconds: Math.round((Date.now() - started) / 1000),
      sendSeconds: Math.round(sendMs / 1000),
      drainSeconds: Math.round(drainMs / 1000),
      load: load.stats,
      sentToProcessed: latency,
      faults: records.map((r) => ({
        fault: r.name,
        atSecond: Math.round((r.at - loadStarted) / 100) / 10,
        tookMs: r.back - r.at,
        acceptingMs: r.acceptingMs ?? null,
        unavailableMs: r.unavailableMs ?? 0,
        answers503: r.answers503 ?? 0,
        p99Ms: r.p99Ms ?? null,
        recoveredMs: r.recoveredMs ?? null,
        ...(r.note ? { note: r.note } : {}),
        ...(r.error ? { error: r.error } : {}),
      })),
      unplannedExits: stack.unplannedExits,
      gracefulStops: stack.gracefulStops,
      report,
    };
    const facts: RunFacts = {
      minimumAccepted: Math.min(plan.minimumAccepted, plan.maxEvents),
      failedAnswers: load.stats.failedAnswers,
      unplannedExits: stack.unplannedExits,
      faultErrors: records.filter((r) => r.error).map((r) => `${r.name}: ${r.error}`),
      uncleanStops: stack.gracefulStops
        .filter((s) => s.code !== 0)
        .map((s) => `${s.instance} exited ${s.code}`),
    };
    const reasons = verdict(report, facts);
    Object.assign(summary, { passed: reasons.length === 0, reasons });
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, `report-${formName}.json`), `${JSON.stringify(summary, null, 2)}\n`);
    printReport(summary, report, records, reasons, duplicateTrail(processed, stack.logDir));
    return reasons.length === 0 ? 0 : 1;
  } finally {
    await live?.stop().catch(() => {});
    await stack.close();
    await gatewayProxy?.close();
  }
}

async function createIntegration(baseUrl: string, token: string): Promise<string> {
  const res = await fetch(`${baseUrl}/v2/integrations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      name: 'chaos',
      use_cases: [
        {
          name: 'customer',
          type: 'inbound',
          enabled: true,
          configuration: {
            entities: [
              {
                entity_schema: 'contact',
                unique_ids: ['customer_number'],
                fields: [
                  { attribute: 'customer_number', field: 'customer_id' },
                  { attribute: 'seq', field: 'seq' },
                  { attribute: 'name', field: 'name' },
                ],
              },
            ],
          },
        },
      ],
    }),
  });
  const body = (await res.json()) as { id?: string };
  if (res.status !== 201 || !body.id)
    throw new Error(`creating the integration: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

/** Local arrival time of each collected message (polled), for recovery times. */
function stampArrivals(collector: TopicCollector): Map<string, number> {
  const seen = new Map<string, number>();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const m of collector.messages) {
      const at = `${m.partition}:${m.offset}`;
      if (!seen.has(at)) seen.set(at, now);
    }
  }, 250);
  timer.unref();
  return seen;
}

function processedRecords(
  collector: TopicCollector,
  org: string,
  seenAt: Map<string, number>,
): ProcessedRecord[] {
  const out: ProcessedRecord[] = [];
  for (const m of collector.messages) {
    if (!m.value) continue;
    const v = JSON.parse(m.value.toString('utf8')) as {
      org_id: string;
      entity: { customer_number?: string; seq?: number };
      source: { event_id: string };
      meta: { change_id: string; processed_at: string };
    };
    if (v.org_id !== org) continue;
    out.push({
      partition: m.partition,
      offset: m.offset,
      changeId: v.meta.change_id,
      eventId: v.source.event_id,
      customer: String(v.entity.customer_number),
      seq: Number(v.entity.seq),
      receivedAt: seenAt.get(`${m.partition}:${m.offset}`) ?? Number.NaN, // NaN: not seen live
      timestamp: Number(m.timestamp),
      processedAt: v.meta.processed_at,
    });
  }
  return out;
}

async function storedEntities(store: MongoStore, org: string): Promise<StoredEntity[]> {
  const docs = await store
    .collection<{ _org: string; _schema: string; customer_number?: string; seq?: number }>('entities')
    .find({ _org: org, _schema: 'contact' })
    .toArray();
  return docs.map((d) => ({ customer: String(d.customer_number), seq: Number(d.seq) }));
}

/**
 * Event ids with a final `entity_written` monitoring record, waiting (up to 60 s) for the monitoring sink
 * to catch up with `expected`.
 */
async function finalMonitoringRecords(
  store: MongoStore,
  org: string,
  expected: Set<string>,
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const deadline = Date.now() + 60_000; ; ) {
    // One document per chunk of the sink's batch (docs/adr/0019): the records are in `records`, one JSON
    // text since its 2026-12 amendment (an array before).
    type Rec = { org_id: string; event_id: string; stage: string; final: boolean };
    const buckets = await store
      .collection<{ org_ids: string[]; records: string | Rec[] }>('monitoring_buckets')
      .find({ org_ids: org }, { projection: { records: 1 } })
      .toArray();
    for (const b of buckets) {
      const records = typeof b.records === 'string' ? (JSON.parse(b.records) as Rec[]) : b.records;
      for (const r of records) {
        if (r.org_id === org && r.stage === 'entity_written' && r.final) found.add(r.event_id);
      }
    }
    if ([...expected].every((id) => found.has(id)) || Date.now() > deadline) return found;
    await sleep(2_000);
  }
}

/**
 * For a run that published changes twice: where the copies are and what the writers and mappers logged
 * around them (CI keeps the output, not the log files).
 */
function duplicateTrail(processed: readonly ProcessedRecord[], logDir: string): string[] {
  const copies = processed.flatMap((p) =>
    p.timestamp !== undefined && p.processedAt !== undefined
      ? [
          {
            changeId: p.changeId,
            partition: p.partition,
            offset: p.offset,
            timestamp: p.timestamp,
            processedAt: p.processedAt,
          },
        ]
      : [],
  );
  const { lines, ids, from, to } = copiesOf(copies);
  if (lines.length === 0) return [];
  return [
    'copies (partition@offset, when the record was made, when its message was built):',
    ...lines,
    'logged at warn or above from 60 s before the first copy to 5 s after the last, and every line naming those changes:',
    ...logTrail(logDir, from - 60_000, to + 5_000, ids),
  ];
}

function printReport(
  summary: {
    durationSeconds: number;
    sendSeconds: number;
    sentToProcessed: { p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number; notSeenLive: number };
    drainSeconds: number;
    unplannedExits: string[];
    gracefulStops: Array<{ instance: string; code: number | null; ms: number }>;
  },
  report: Report,
  faults: FaultRecord[],
  reasons: string[],
  trail: string[],
) {
  const line = (label: string, value: unknown) => process.stdout.write(`  ${label.padEnd(34)} ${value}\n`);
  process.stdout.write(`\nChaos report (${formName} form, seed ${seed}, ${summary.durationSeconds} s)\n`);
  line('load / drain after it', `${summary.sendSeconds} s / ${summary.drainSeconds} s`);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const l = summary.sentToProcessed;
  line(
    'sent → processed p50 / p95 / p99 / max',
    `${s(l.p50Ms)} / ${s(l.p95Ms)} / ${s(l.p99Ms)} / ${s(l.maxMs)}`,
  );
  line('events sent', report.sent);
  line('accepted (success)', report.accepted - report.acceptedOnRetry);
  line('accepted, answer lost (skipped on retry)', report.acceptedOnRetry);
  line('not accepted (ignored)', report.notAccepted);
  line('processed', report.processed);
  line('failed (dead-lettered)', report.failed);
  line('lost', report.lost);
  line('processed, no final monitoring record', report.unmonitored);
  line('duplicated processed messages', report.duplicated.messages);
  line('changes applied twice', report.duplicated.changes);
  line('entities expected / stored', `${report.entities.expected} / ${report.entities.stored}`);
  line('duplicate entities', report.entities.duplicates.length);
  line('entities missing their last update', report.entities.stale.length);
  line('kills and restarts survived', faults.filter((f) => !f.error).length);
  line('unplanned exits (restarted)', summary.unplannedExits.length);
  for (const exit of summary.unplannedExits) process.stdout.write(`    - ${exit}\n`);
  for (const stop of summary.gracefulStops) {
    line(`SIGTERM ${stop.instance}`, `exit ${stop.code} after ${(stop.ms / 1000).toFixed(1)} s`);
  }
  process.stdout.write(
    '  faults: time from the fault until the API accepted again / messages were processed again;\n' +
      '  while it lasted: time the API answered 503 (503 answers), request → processed p99\n',
  );
  for (const f of faults) {
    const t = (ms: number | undefined) => (ms === undefined ? 'n/a' : s(ms));
    const recovered = `${t(f.acceptingMs)} / ${t(f.recoveredMs)}`;
    const during = `503 ${t(f.unavailableMs)} (${f.answers503 ?? 0}), p99 ${t(f.p99Ms)}`;
    const extra = `${f.note ? ` (${f.note})` : ''}${f.error ? ` (failed: ${f.error})` : ''}`;
    process.stdout.write(
      `    - ${f.name.padEnd(34)} recovered in ${recovered}; ${during}, ${t(f.back - f.at)} long${extra}\n`,
    );
  }
  if (report.lostKeys.length > 0) process.stdout.write(`  lost, e.g.: ${report.lostKeys.join(', ')}\n`);
  if (report.duplicated.examples.length > 0) {
    process.stdout.write(`  duplicated, e.g.: ${report.duplicated.examples.join('; ')}\n`);
  }
  for (const line of trail) process.stdout.write(`    ${line}\n`);
  if (report.entities.stale.length > 0) {
    process.stdout.write(`  stale, e.g.: ${JSON.stringify(report.entities.stale.slice(0, 5))}\n`);
  }
  for (const reason of reasons) process.stdout.write(`  failed: ${reason}\n`);
  process.stdout.write(`  result: ${reasons.length === 0 ? 'PASSED' : 'FAILED'}\n\n`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`chaos run failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
