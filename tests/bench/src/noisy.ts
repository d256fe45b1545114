/**
 * The noisy neighbour (issue 19): a victim organisation sends at a steady rate, first alone (quiet), then
 * while an attacker runs the cheap-but-heavy requests at their limits (under attack), in the same
 * run. Measured: the victim's request latency and request → processed latency, quiet and under attack;
 * whether any event of either was lost. The attacker's slow events must end processed (after its
 * configuration changes, once quarantined) or dead-lettered before the quarantine, never dropped.
 */
import { type DeadLetterMessage, Headers, Topics } from '@hub/contracts';
import { apiClient, collectTopic } from '@hub/testing';
import { postEvents } from './api.js';
import { treeCpuTimes } from './cpu.js';
import { drain, type LoadTally, Sender } from './end-to-end.js';
import type { Target } from './fixtures.js';
import type { ProcessedWatch } from './processed.js';
import { type Figure, type PhaseOutcome, ratio } from './report.js';
import { breakdown, readStages, type StageBreakdown } from './stages.js';
import { type LatencySummary, summarise } from './stats.js';
import type { Run } from './steps.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface NoisySizes {
  /** Victim: requests of `batch` events every `everyMs`, for `quietMs` alone and `attackMs` under attack. */
  victim: { batch: number; everyMs: number; quietMs: number; attackMs: number };
  /** Attacker's events that each run the mapping to its deadline (distinct groups). */
  slowEvents: number;
}

export interface VictimPhase {
  request: LatencySummary;
  processed: LatencySummary;
  accepted: number;
  lost: number;
  /** Events by result status. */
  events: Record<string, number>;
  refused: Record<string, number>;
}

/** The attacker's request classes (issue 19's items); `--noisy-attack` picks some, for a focused measurement. */
export const ATTACK_CLASSES = [
  'slow-events',
  'simulations',
  'v1-simulation',
  'statistics',
  'configuration',
] as const;
export type AttackClass = (typeof ATTACK_CLASSES)[number];

export interface NoisyOutcome {
  /** The attacker's request classes that ran. */
  attackClasses: AttackClass[];
  /**
   * CPU used per second of each phase (ms; 2 cores = 2,000), by process with its mapping workers, from the
   * phase's first request to its last answer: where the machine's time went while the victim waited.
   */
  cpuMsPerSecond?: { quiet: Record<string, number>; attack: Record<string, number> };
  /** The same under attack, second by second (index 0: the attack's first second). */
  cpuTimeline?: Array<Record<string, number>>;
  quiet: VictimPhase;
  attack: VictimPhase;
  attacker: {
    /** Item 2: what the attacker held of configuration (integrations and use cases of ~250 KB). */
    configuration?: { integrations: number; useCases: number };
    slowAccepted: number;
    processedAfterChange: number;
    deadLettered: number;
    lost: number;
    answers: Record<string, Record<string, number>>;
    /** Per request class: answers, and their mean and longest time (ms). */
    timing: Record<string, { count: number; meanMs: number; maxMs: number }>;
  };
  /**
   * Where the victim's time went (stages.ts), quiet and under attack, and when the mapper produced the
   * attacker's slow events' outcomes (dead letter, parked), in ms after the attack started, by partition.
   */
  stages?: {
    quiet: StageBreakdown;
    attack: StageBreakdown;
    attackerOutcomes: Array<{ partition: number; atMs: number; outcome: 'dead-lettered' | 'parked' }>;
  };
}

/** A catastrophic regular expression: each event runs to the mapper's hard deadline. */
const SLOW = '$match(text, /(a+)+$/)';
const slowConfiguration = (note: string) => ({
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'customerId' },
        { attribute: 'note', jsonataExpression: note },
      ],
    },
  ],
});

/** The attacker's integration with a use case whose mapping runs every event to the deadline. */
async function createAttacker(baseUrl: string, victimLike: Target, org: string, token: string) {
  const api = apiClient(baseUrl, token);
  const created = await api.request<{ id?: string; use_cases?: Array<{ id: string; slug: string }> }>(
    'POST',
    '/v2/integrations',
    {
      name: 'Noisy neighbour',
      use_cases: [
        { name: 'Slow Sync', type: 'inbound', enabled: true, configuration: slowConfiguration(SLOW) },
      ],
    },
  );
  const useCase = created.body.use_cases?.[0];
  if (created.status !== 201 || !created.body.id || !useCase) {
    throw new Error(`creating the attacker's integration: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const target: Target = {
    ...victimLike,
    org,
    token,
    integrationId: created.body.id,
    useCaseId: useCase.id,
    useCaseSlug: useCase.slug,
    grouped: true,
  };
  return { api, target };
}

/** A use case's configuration of about `chars` bytes of JSON that costs about as much held decoded. */
const bulkyConfiguration = (chars: number, letter: string) => slowConfiguration(`"${letter.repeat(chars)}"`);

/**
 * Item 2: the attacker's configuration held near its organisation's budget. Integrations of 15 use cases
 * of ~250 KB each (one long string: its size held decoded is about its bytes of JSON), created until the
 * budget refuses one, then smaller ones until none fits: what every mapper then holds for it. Returns an
 * integration and use case to change during the attack (each change republishes that integration whole).
 */
async function fillConfiguration(
  api: ReturnType<typeof apiClient>,
  log: (msg: string) => void,
): Promise<{ integrationId: string; useCaseId: string; integrations: number; useCases: number }> {
  const chars = 250_000;
  let useCases = 15;
  let made = 0;
  let total = 0;
  let first: { integrationId: string; useCaseId: string } | undefined;
  while (useCases > 0 && made < 20) {
    const created = await api.request<{
      id?: string;
      use_cases?: Array<{ id: string }>;
      code?: string;
      message?: string;
    }>('POST', '/v2/integrations', {
      name: `Bulky ${made + 1}`,
      use_cases: Array.from({ length: useCases }, (_, i) => ({
        name: `Bulky ${made + 1}.${i + 1}`,
        type: 'inbound',
        enabled: true,
        configuration: bulkyConfiguration(chars, 'a'),
      })),
    });
    if (created.status === 201 && created.body.id) {
      made++;
      total += useCases;
      first ??= { integrationId: created.body.id, useCaseId: created.body.use_cases?.[0]?.id ?? '' };
      continue;
    }
    if (created.status !== 400 || created.body.code !== 'LIMIT_EXCEEDED') {
      throw new Error(
        `filling the attacker's configuration: ${created.status} ${JSON.stringify(created.body)}`,
      );
    }
    useCases = Math.floor(useCases / 2);
  }
  if (!first) throw new Error("filling the attacker's configuration: not one integration fitted");
  log(
    `noisy neighbour: the attacker holds ${made} integrations of ${total} use cases of ~${chars / 1000} KB (its budget refuses more)`,
  );
  return { ...first, integrations: made, useCases: total };
}

/** Sends on a fixed schedule whatever the answers do, until `untilMs`. */
async function paced(sender: Sender, tally: LoadTally, batch: number, everyMs: number, durationMs: number) {
  const started = Date.now();
  const pending = new Set<Promise<void>>();
  for (let i = 0; started + i * everyMs < started + durationMs; i++) {
    const due = started + i * everyMs;
    if (Date.now() < due) await sleep(due - Date.now());
    const request = sender.send(tally, batch).finally(() => pending.delete(request));
    pending.add(request);
  }
  await Promise.all(pending);
}

function latencies(tally: LoadTally, watch: ProcessedWatch): LatencySummary {
  const out: number[] = [];
  for (const [id, sentAt] of tally.sentAt) {
    const arrived = watch.arrivals.get(id);
    if (arrived !== undefined) out.push(arrived - sentAt);
  }
  return summarise(out);
}

/** Runs `body` again and again until `until()`, counting each answer's status under `name`. */
async function repeat(
  answers: Record<string, Record<string, number>>,
  timing: Timing,
  name: string,
  until: () => boolean,
  body: () => Promise<number | string>,
  pauseMs = 0,
) {
  const counts: Record<string, number> = {};
  answers[name] = counts;
  while (!until()) {
    const at = Date.now();
    const status = await body().catch(() => 'no answer');
    timing.add(name, Date.now() - at);
    counts[status] = (counts[status] ?? 0) + 1;
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

/** How long the attacker's requests took, per class. */
class Timing {
  private readonly byClass = new Map<string, number[]>();
  add(name: string, ms: number): void {
    this.byClass.set(name, [...(this.byClass.get(name) ?? []), ms]);
  }
  summary(): Record<string, { count: number; meanMs: number; maxMs: number }> {
    const out: Record<string, { count: number; meanMs: number; maxMs: number }> = {};
    for (const [name, all] of this.byClass) {
      out[name] = {
        count: all.length,
        meanMs: Math.round(all.reduce((s, ms) => s + ms, 0) / all.length),
        maxMs: Math.max(...all),
      };
    }
    return out;
  }
}

/** CPU ms per second between two `treeCpuTimes` readings, by process (the bench's own included). */
function cpuRate(before: Record<string, number>, after: Record<string, number>, ms: number) {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [name, used] of Object.entries(after)) {
    if (before[name] === undefined || ms <= 0) continue;
    const rate = ((used - before[name]!) * 1000) / ms;
    out[name] = Math.round(rate);
    total += rate;
  }
  out.total = Math.round(total);
  return out;
}

export async function noisyNeighbour(options: {
  baseUrl: string;
  brokers: string[];
  victim: Target;
  attacker: { org: string; token: string };
  watch: ProcessedWatch;
  sizes: NoisySizes;
  random: () => number;
  runId: string;
  timeoutMs: number;
  log: (msg: string) => void;
  /** The attacker's request classes to run (default: all). */
  attack?: readonly AttackClass[];
  /** The stack's processes by name (`ManagedStack.processes()`), for the CPU per phase. */
  processes?: () => Record<string, number>;
}): Promise<NoisyOutcome> {
  const { baseUrl, victim, watch, sizes, log } = options;
  const classes = new Set<AttackClass>(options.attack ?? ATTACK_CLASSES);
  const cpuNow = () => (options.processes ? treeCpuTimes(options.processes()) : {});
  const { api, target: attacker } = await createAttacker(
    baseUrl,
    victim,
    options.attacker.org,
    options.attacker.token,
  );
  const deadLetters = await collectTopic(options.brokers, Topics.deadLetters);
  try {
    const bulky = classes.has('configuration') ? await fillConfiguration(api, log) : undefined;
    const sender = new Sender(baseUrl, [victim], 200, options.random, `${options.runId}-victim`);
    const { batch, everyMs, quietMs, attackMs } = sizes.victim;

    log(`noisy neighbour: victim alone, ${batch} events every ${everyMs} ms for ${quietMs / 1000} s`);
    const quiet = sender.newTally();
    const quietCpu = { at: Date.now(), before: cpuNow() };
    await paced(sender, quiet, batch, everyMs, quietMs);
    const quietCpuRate = cpuRate(quietCpu.before, cpuNow(), Date.now() - quietCpu.at);
    await drain(watch, quiet, options.timeoutMs, 60_000);

    log(`noisy neighbour: under attack for ${attackMs / 1000} s (${[...classes].join(', ')})`);
    const attack = sender.newTally();
    const attackStartedAt = Date.now();
    const attackCpuBefore = cpuNow();
    // CPU second by second under attack: which process the victim waited for, and when.
    const cpuTimeline: Array<Record<string, number>> = [];
    let lastSample = { at: Date.now(), cpu: attackCpuBefore };
    const sampler = options.processes
      ? setInterval(() => {
          const sample = { at: Date.now(), cpu: cpuNow() };
          cpuTimeline.push(cpuRate(lastSample.cpu, sample.cpu, sample.at - lastSample.at));
          lastSample = sample;
        }, 1_000).unref()
      : undefined;
    const answers: Record<string, Record<string, number>> = {};
    const timing = new Timing();
    let over = false;
    const until = () => over;
    // The attack's requests still running when the window ends are abandoned (a queue of 17 slow
    // simulations alone would keep the step waiting half a minute).
    const stop = new AbortController();
    const json = (path: string, body: unknown) =>
      fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${attacker.token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.any([AbortSignal.timeout(60_000), stop.signal]),
      }).then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      });
    // Item 3: events that each run the mapping to its deadline, in distinct groups (every partition).
    const slowIds: string[] = [];
    const sendSlow = async () => {
      for (let from = 0; from < sizes.slowEvents; from += 50) {
        const events = Array.from({ length: Math.min(50, sizes.slowEvents - from) }, (_, i) => ({
          use_case_slug: attacker.useCaseSlug,
          group_id: `S${from + i}`,
          event_type: 'UPDATE',
          timestamp: new Date().toISOString(),
          format: 'json',
          payload: JSON.stringify({ customerId: `S${from + i}`, text: `${'a'.repeat(40)}!` }),
        }));
        const outcome = await postEvents(baseUrl, attacker, events);
        for (const r of outcome.results ?? []) if (r.status === 'success') slowIds.push(r.event_id);
      }
    };
    // Item 7: 17 slow simulations at once every 2 s (one more than the organisation's queue).
    const simulationAnswers: Record<string, number> = {};
    answers['17 slow simulations at once, every 2 s'] = simulationAnswers;
    const simulations = async () => {
      while (!over) {
        const all = Array.from({ length: 17 }, () =>
          json('/v2/erp/updates/mapping_simulation', {
            event_configuration: slowConfiguration(SLOW),
            format: 'json',
            payload: { customerId: 'X', text: `${'a'.repeat(40)}!` },
          }).catch(() => 'no answer' as const),
        );
        const at = Date.now();
        const timed = all.map((a) => a.finally(() => timing.add('slow simulation', Date.now() - at)));
        for (const status of await Promise.all(timed))
          simulationAnswers[status] = (simulationAnswers[status] ?? 0) + 1;
        await sleep(2_000);
      }
    };
    // Item 1: a v1.0 simulation of 20,000 fields (about 1 MB), one after the other.
    const fields = Array.from({ length: 20_000 }, (_, i) => ({
      entity: `e${i % 50}`,
      attribute: `a${i}`,
      field: `f${i}`,
    }));
    // Field i < 50 is the first of entity e<i>: its unique id.
    const uniqueIds = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`e${i}`, [`a${i}`]]));
    const v1 = () =>
      json('/v1/erp/updates/mapping_simulation', {
        mapping_configuration: {
          version: '1.0',
          mapping: { objects: { big: { unique_ids: uniqueIds, fields } } },
        },
        object_type: 'big',
        format: 'json',
        payload: { f0: '1' },
      });
    // Item 5: statistics over the attacker's records, five loops at once (its queue takes them in turn).
    const stats = () => json(`/v2/integrations/${attacker.integrationId}/monitoring/stats`, {});
    // Item 2: the configuration held near the budget changes again and again: each change republishes
    // its integration (~3.75 MB) to every gateway and mapper.
    let variant = 0;
    const change = () =>
      api
        .request('PUT', `/v1/integrations/${bulky?.integrationId}/use-cases/${bulky?.useCaseId}`, {
          configuration: bulkyConfiguration(250_000, variant++ % 2 === 0 ? 'b' : 'a'),
        })
        .then((r) => r.status);
    const attackers = Promise.all([
      bulky ? repeat(answers, timing, 'change of a use case of 250 KB', until, change) : undefined,
      classes.has('slow-events') ? sendSlow() : undefined,
      classes.has('simulations') ? simulations() : undefined,
      classes.has('v1-simulation')
        ? repeat(answers, timing, 'v1 simulation of 20,000 fields', until, v1)
        : undefined,
      ...(classes.has('statistics')
        ? Array.from({ length: 5 }, (_, i) =>
            repeat(answers, timing, `statistics #${i + 1}`, until, stats, 100),
          )
        : []),
    ]);
    await paced(sender, attack, batch, everyMs, attackMs);
    const attackCpuRate = cpuRate(attackCpuBefore, cpuNow(), Date.now() - attackStartedAt);
    clearInterval(sampler);
    over = true;
    stop.abort();
    await attackers;
    await drain(watch, attack, options.timeoutMs, 60_000);

    // The attacker's slow events: quarantined and parked (or dead-lettered before the quarantine); a
    // configuration change hands the parked ones back, and they are processed.
    log(
      `noisy neighbour: the attacker changes its configuration; ${slowIds.length} slow events to account for`,
    );
    const changed = await api.request(
      'PUT',
      `/v1/integrations/${attacker.integrationId}/use-cases/${attacker.useCaseId}`,
      { configuration: slowConfiguration('$uppercase(text)') },
    );
    if (changed.status !== 200) throw new Error(`changing the attacker's configuration: ${changed.status}`);
    const slow = new Set(slowIds);
    const deadOf = () =>
      new Set(
        deadLetters
          .values<DeadLetterMessage>((d) => d.service === 'mapper' && slow.has(d.event_id ?? ''))
          .map((d) => d.event_id),
      );
    const deadline = Date.now() + options.timeoutMs;
    let processed = 0;
    let dead = new Set<string | undefined>();
    let last = -1;
    let movedAt = Date.now();
    for (;;) {
      dead = deadOf();
      processed = slowIds.filter((id) => watch.arrivals.has(id) && !dead.has(id)).length;
      const done = processed + dead.size;
      if (done >= slowIds.length) break;
      if (done !== last) {
        last = done;
        movedAt = Date.now();
      }
      if (Date.now() > deadline || Date.now() - movedAt > 60_000) break;
      await sleep(500);
    }
    const stages = await victimStages(options.brokers, quiet, attack, slowIds, watch, attackStartedAt).catch(
      (err: Error) => {
        log(`noisy neighbour: the stage breakdown failed: ${err.message}`);
        return undefined;
      },
    );
    const lost = (tally: LoadTally) => {
      let n = 0;
      for (const id of tally.sentAt.keys()) if (!watch.arrivals.has(id)) n++;
      return n;
    };
    return {
      attackClasses: [...classes],
      ...(options.processes
        ? { cpuMsPerSecond: { quiet: quietCpuRate, attack: attackCpuRate }, cpuTimeline }
        : {}),
      quiet: {
        request: summarise(quiet.requestMs),
        processed: latencies(quiet, watch),
        accepted: quiet.sentAt.size,
        lost: lost(quiet),
        events: quiet.events,
        refused: quiet.refused,
      },
      attack: {
        request: summarise(attack.requestMs),
        processed: latencies(attack, watch),
        accepted: attack.sentAt.size,
        lost: lost(attack),
        events: attack.events,
        refused: attack.refused,
      },
      attacker: {
        ...(bulky ? { configuration: { integrations: bulky.integrations, useCases: bulky.useCases } } : {}),
        slowAccepted: slowIds.length,
        processedAfterChange: processed,
        deadLettered: dead.size,
        lost: slowIds.length - processed - dead.size,
        answers,
        timing: timing.summary(),
      },
      ...(stages ? { stages } : {}),
    };
  } finally {
    await deadLetters.stop();
  }
}

/** The stage breakdown of the victim's events, and when the attacker's slow events met their outcome. */
async function victimStages(
  brokers: string[],
  quiet: LoadTally,
  attack: LoadTally,
  slowIds: string[],
  watch: ProcessedWatch,
  attackStartedAt: number,
): Promise<NonNullable<NoisyOutcome['stages']>> {
  const ids = new Set([...quiet.sentAt.keys(), ...attack.sentAt.keys()]);
  const stages = await readStages(brokers, ids);
  const slow = new Set(slowIds);
  const attackerOutcomes: NonNullable<NoisyOutcome['stages']>['attackerOutcomes'] = [];
  const seen = new Set<string>(); // a parked event cycles: its first parking counts
  for (const [topic, outcome] of [
    [Topics.deadLetters, 'dead-lettered'],
    [Topics.parkedEvents, 'parked'],
  ] as const) {
    const collected = await collectTopic(brokers, topic);
    try {
      for (const m of collected.messages) {
        const id = m.headers[Headers.eventId] ?? '';
        if (!slow.has(id) || seen.has(`${outcome}:${id}`)) continue;
        seen.add(`${outcome}:${id}`);
        attackerOutcomes.push({
          partition: m.partition,
          atMs: Number(m.timestamp) - attackStartedAt,
          outcome,
        });
      }
    } finally {
      await collected.stop();
    }
  }
  attackerOutcomes.sort((a, b) => a.atMs - b.atMs);
  return {
    quiet: breakdown(quiet.sentAt, watch.arrivals, stages, quiet.startedAt),
    attack: breakdown(attack.sentAt, watch.arrivals, stages, attackStartedAt),
    attackerOutcomes,
  };
}

/** The step: victim and attacker in organisations of their own; figures, details and the verdict's phases. */
export async function noisyStep(
  run: Run,
  victim: Target,
  attacker: { org: string; token: string },
  attack?: readonly AttackClass[],
): Promise<void> {
  const r = await noisyNeighbour({
    ...(attack ? { attack } : {}),
    processes: () => run.stack.processes(),
    baseUrl: run.stack.baseUrl,
    brokers: run.stack.brokers,
    victim,
    attacker,
    watch: run.watch,
    sizes: run.form.noisy,
    random: run.random,
    runId: run.runId,
    timeoutMs: run.form.stepTimeoutMs,
    log: run.log,
  });
  run.details.noisyNeighbour = r;
  const count = (t: VictimPhase) => t.processed.count;
  const rows: Array<[Figure['key'], string, number, number]> = [
    ['noisy.quiet.request.p50', 'victim alone: request p50', r.quiet.request.p50Ms, r.quiet.request.count],
    ['noisy.quiet.request.p99', 'victim alone: request p99', r.quiet.request.p99Ms, r.quiet.request.count],
    [
      'noisy.quiet.processed.p50',
      'victim alone: request → processed p50',
      r.quiet.processed.p50Ms,
      count(r.quiet),
    ],
    [
      'noisy.quiet.processed.p99',
      'victim alone: request → processed p99',
      r.quiet.processed.p99Ms,
      count(r.quiet),
    ],
    [
      'noisy.attack.request.p50',
      'victim under attack: request p50',
      r.attack.request.p50Ms,
      r.attack.request.count,
    ],
    [
      'noisy.attack.request.p99',
      'victim under attack: request p99',
      r.attack.request.p99Ms,
      r.attack.request.count,
    ],
    [
      'noisy.attack.processed.p50',
      'victim under attack: request → processed p50',
      r.attack.processed.p50Ms,
      count(r.attack),
    ],
    [
      'noisy.attack.processed.p99',
      'victim under attack: request → processed p99',
      r.attack.processed.p99Ms,
      count(r.attack),
    ],
  ];
  for (const [key, label, value, n] of rows)
    run.figures.push({ key, section: 'noisy neighbour', label, value, unit: 'ms', count: n });
  const p99Ratio = ratio(r.attack.processed.p99Ms, r.quiet.processed.p99Ms);
  run.figures.push({
    key: 'noisy.ratio.p99',
    section: 'noisy neighbour',
    label: 'victim request → processed p99, under attack / alone',
    value: p99Ratio,
    unit: '×',
    note:
      `goal ≤ 2 ${p99Ratio <= 2 ? 'met' : 'NOT met'}; API p99 under attack ` +
      `${Math.round(r.attack.request.p99Ms)} ms (goal < 500 ${r.attack.request.p99Ms < 500 ? 'met' : 'NOT met'}); ` +
      `attacker: ${r.attacker.slowAccepted} slow events, ${r.attacker.processedAfterChange} processed after its ` +
      `change, ${r.attacker.deadLettered} dead-lettered before the quarantine, ${r.attacker.lost} lost` +
      (r.stages
        ? `; under attack, p99 of request → accepted ${Math.round(r.stages.attack.accepted.p99Ms)} ms, ` +
          `accepted → mapped ${Math.round(r.stages.attack.mapped.p99Ms)} ms, mapped → processed ` +
          `${Math.round(r.stages.attack.written.p99Ms)} ms (alone: ${Math.round(r.stages.quiet.accepted.p99Ms)}, ` +
          `${Math.round(r.stages.quiet.mapped.p99Ms)}, ${Math.round(r.stages.quiet.written.p99Ms)})`
        : ''),
  });
  // The verdict fails on a lost event (victim's or attacker's) and on a victim request refused; the
  // latency goals are reported, not judged.
  const phase = (t: VictimPhase): PhaseOutcome => ({
    refused: t.refused,
    events: t.events,
    accepted: t.accepted,
    processed: t.accepted - t.lost,
  });
  run.phases['noisy: victim alone'] = phase(r.quiet);
  run.phases['noisy: victim under attack'] = phase(r.attack);
  run.phases['noisy: attacker slow events (processed or dead-lettered)'] = {
    refused: {},
    events: {},
    accepted: r.attacker.slowAccepted,
    processed: r.attacker.processedAfterChange + r.attacker.deadLettered,
  };
}
