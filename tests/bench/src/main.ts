// The benchmark (issue 11): on a stack of its own, in one run, the ceilings (a raw producer, raw database
// writes), the end-to-end rate and latency through the edge, each consumer alone, the writer's growth with
// the data, and one entity updated 1,000 times in order. Prints a table and writes
// `.local/bench/report-<form>.json`. `npm run bench` (long form), `npm run bench -- --quick` (`npm test`).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { signToken } from '@hub/http';
import { ManagedStack, MongoCountingProxy, seededRandom } from '@hub/testing';
import { createTarget } from './api.js';
import { prefillProducer } from './consumers.js';
import { type CommandLatency, type DatabaseWork, describeLatency, describeWork } from './database.js';
import { FORMS } from './forms.js';
import { historyStep } from './history.js';
import { ATTACK_CLASSES, type AttackClass, type NoisyOutcome, noisyStep } from './noisy.js';
import { ProcessedWatch } from './processed.js';
import { entityReads } from './reads.js';
import { benchVerdict, type PhaseOutcome, renderTable, shapeReport } from './report.js';
import {
  ceilingDatabase,
  ceilingGateway,
  ceilingProducer,
  consumersAlone,
  endToEnd,
  gatewayAlone,
  ordering,
  type Run,
  ratios,
  warmUp,
  writerGrowth,
} from './steps.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string' },
    /** Only these steps (comma-separated names as logged, e.g. `growth`): for a focused measurement. */
    only: { type: 'string' },
    /** Events' worth of history for the history step, instead of the form's. */
    history: { type: 'string' },
    /**
     * The noisy neighbour's attacker runs only these request classes (comma-separated, of
     * `slow-events,simulations,v1-simulation,statistics`): which of them costs the victim what.
     */
    'noisy-attack': { type: 'string' },
  },
});
const chosen = FORMS[args.quick ? 'quick' : 'long'];
const form = args.history
  ? { ...chosen, history: { ...chosen.history, events: Number(args.history) } }
  : chosen;
if (!(form.history.events > 0)) throw new Error(`--history must be a positive number, not "${args.history}"`);
const only = args.only ? new Set(args.only.split(',').map((s) => s.trim())) : undefined;
const noisyAttack = args['noisy-attack']?.split(',').map((s) => s.trim()) as AttackClass[] | undefined;
for (const c of noisyAttack ?? []) {
  if (!ATTACK_CLASSES.includes(c))
    throw new Error(`--noisy-attack: "${c}" is not one of ${ATTACK_CLASSES.join(', ')}`);
}
const seed = Number(args.seed ?? Date.now() % 1_000_000);
const runId = `bench-${seed}-${Date.now().toString(36)}`;
const outDir = path.join(REPO, '.local/bench');
const log = (msg: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);

/** The per-organisation rate limit, raised for this stack by configuration only (never in the product). */
const RATE_LIMIT_PER_MINUTE = '1000000';

async function main(): Promise<number> {
  const started = Date.now();
  const host = machine();
  const head = commit();
  const mongoPort = Number(process.env.BENCH_MONGO_PORT ?? 22017);
  // The services reach FerretDB through a counting proxy (MONGO_PORT + 2; MONGO_PORT + 1 is its TLS
  // listener): what they ask of the database is counted at the wire, not estimated.
  const wire = await MongoCountingProxy.start({
    upstream: `127.0.0.1:${mongoPort}`,
    port: Number(process.env.BENCH_MONGO_COUNTER_PORT ?? mongoPort + 2),
  });
  const stack = new ManagedStack({
    name: 'bench',
    // Below Linux's ephemeral range (32768-60999), where an outgoing connection may hold a port.
    ports: {
      base: Number(process.env.BENCH_PORT_BASE ?? 22080),
      kafka: Number(process.env.BENCH_KAFKA_PORT ?? 22092),
      controller: Number(process.env.BENCH_KAFKA_CONTROLLER_PORT ?? 22093),
      mongo: mongoPort,
    },
    env: { RATE_LIMIT_PER_MINUTE, MONGO_URL: wire.url() },
  });
  const interrupted = () => {
    log('interrupted: stopping the bench stack');
    void stack
      .close()
      .then(() => wire.close())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  const errors: Record<string, string> = {};
  const figures: Run['figures'] = [];
  const details: Run['details'] = {};
  const phases: Record<string, PhaseOutcome> = {};
  const step = async (name: string, body: () => Promise<void>) => {
    if (only && name !== 'warm-up' && !only.has(name)) return;
    const at = Date.now();
    log(`${name}...`);
    try {
      await body();
      log(`${name}: done in ${((Date.now() - at) / 1000).toFixed(1)} s`);
    } catch (err) {
      errors[name] = (err as Error).message;
      log(`${name} failed: ${(err as Error).stack ?? err}`);
    }
  };
  let prefill: Awaited<ReturnType<typeof prefillProducer>> | undefined;
  let watch: ProcessedWatch | undefined;
  try {
    log(`${form.name} form, seed ${seed}; starting a stack of its own at ${stack.baseUrl}`);
    await stack.start();
    log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const auth = { secret: stack.authSecret, issuer: stack.authIssuer, audience: stack.authAudience };
    // Three organisations whose integration sends each customer as its group_id, one without group_id.
    const targets = await Promise.all(
      [true, true, true, false].map((grouped, i) =>
        createTarget(stack.baseUrl, auth, `${runId}-org${i + 1}`, grouped),
      ),
    );
    watch = await ProcessedWatch.start(stack.brokers);
    prefill = await prefillProducer(stack.brokers);
    const random = seededRandom(seed);
    const run: Run = {
      stack,
      wire,
      form,
      targets,
      watch,
      producer: prefill.producer,
      random,
      runId,
      log,
      figures,
      details,
      phases,
    };
    await step('warm-up', () => warmUp(run));
    await step('ceiling: raw producer', () => ceilingProducer(run));
    await step('ceiling: raw database', () => ceilingDatabase(run));
    await step('ceiling: raw gateway', () => ceilingGateway(run));
    await step('end to end', () => endToEnd(run));
    await step('ordering', () => ordering(run));
    const victim = await createTarget(stack.baseUrl, auth, `${runId}-victim`, true);
    const attackerOrg = `${runId}-attacker`;
    const attacker = {
      org: attackerOrg,
      token: signToken({ ...auth, orgId: attackerOrg, expiresInSeconds: 24 * 3600 }),
    };
    await step('noisy neighbour', () => noisyStep(run, victim, attacker, noisyAttack));
    await watch.stop(); // the steps below pre-fill thousands of entities
    watch = undefined;
    await step('gateway alone', () => gatewayAlone(run));
    await step('consumers alone', () => consumersAlone(run));
    const growthTarget = await createTarget(stack.baseUrl, auth, `${runId}-growth`, true);
    await step('growth', () => writerGrowth(run, growthTarget));
    const readsTarget = await createTarget(stack.baseUrl, auth, `${runId}-reads`, true);
    await step('reads', () => entityReads(run, readsTarget));
    if (!only || only.has('history')) {
      // Only what arrives from now on: the topic holds the steps above's hundreds of thousands.
      watch = await ProcessedWatch.start(stack.brokers, { fromBeginning: false });
      run.watch = watch;
    }
    await step('history', () => historyStep(run));
    ratios(run);
  } catch (err) {
    errors.run = (err as Error).message;
    log(`the run failed: ${(err as Error).stack ?? err}`);
  } finally {
    await watch?.stop().catch(() => {});
    await prefill?.close().catch(() => {});
    await stack.close();
    await wire.close();
  }

  const title =
    `\nBenchmark, ${form.name} form (seed ${seed}, ${Math.round((Date.now() - started) / 1000)} s): ` +
    `${host.cpus} cores, ${host.freeMemoryGiB} GiB free of ${host.memoryGiB} GiB at the start, ` +
    `commit ${head}`;
  process.stdout.write(renderTable(title, figures));
  const report = shapeReport(
    {
      form: form.name,
      seed,
      commit: head,
      machine: host,
      startedAt: new Date(started).toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      sizes: form,
      rateLimitPerMinute: Number(RATE_LIMIT_PER_MINUTE),
      unplannedExits: stack.unplannedExits,
      gracefulStops: stack.gracefulStops,
      errors,
      details,
    },
    figures,
  );
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `report-${form.name}.json`);
  writeFileSync(file, `${JSON.stringify(report, replacer, 2)}\n`);
  printObservations(details, errors, stack.unplannedExits);
  process.stdout.write(`  report: ${path.relative(REPO, file)}\n`);
  const reasons = benchVerdict({
    missing: report.missing,
    errors,
    phases,
    unplannedExits: stack.unplannedExits,
  });
  if (reasons.length > 0) {
    for (const reason of reasons) process.stdout.write(`  FAILED: ${reason}\n`);
    process.stdout.write('\n');
    return 1;
  }
  process.stdout.write('  every figure measured; every event accepted and processed\n\n');
  return 0;
}

/** Refusals and errors the services answered while measured: the table's figures hold only with these. */
function printObservations(details: Run['details'], errors: Record<string, string>, exits: string[]): void {
  const out = (s: string) => process.stdout.write(`  ${s}\n`);
  for (const phase of ['phaseA', 'phaseB'] as const) {
    const p = details[phase] as
      | {
          requests: number;
          refused: Record<string, number>;
          events: Record<string, number>;
          requestLatency: { p50Ms: number; p99Ms: number };
        }
      | undefined;
    if (!p) continue;
    out(
      `${phase}: ${p.requests} requests, refused ${JSON.stringify(p.refused)}, events ${JSON.stringify(p.events)}, ` +
        `request p50/p99 ${Math.round(p.requestLatency.p50Ms)}/${Math.round(p.requestLatency.p99Ms)} ms`,
    );
  }
  for (const phase of ['phaseA', 'history'] as const) {
    const p = details[phase] as
      | { cpuPerEventMs?: Record<string, number>; database?: DatabaseWork }
      | undefined;
    if (p?.cpuPerEventMs) {
      const parts = Object.entries(p.cpuPerEventMs).map(([name, ms]) => `${name} ${ms.toFixed(2)}`);
      out(`${phase} CPU ms per processed event: ${parts.join(', ')} (2 cores = 2,000 ms per second)`);
    }
    if (p?.database) for (const line of describeWork(phase, p.database)) out(line);
  }
  for (const phase of ['phaseB', 'ordering'] as const) {
    const p = details[phase] as { databaseLatency?: CommandLatency[] } | undefined;
    if (p?.databaseLatency) for (const line of describeLatency(phase, p.databaseLatency)) out(line);
  }
  const h = details.history as
    | {
        sweeps?: unknown;
        sqliteMB?: Record<string, Record<string, number>>;
        monitoringCount?: { documents: number; ms: number };
        loadMs?: number;
      }
    | undefined;
  if (h) {
    // The evidence for what grows with history (issue 22): the sweeps, the write-ahead log, a count.
    out(`history: loaded in ${((h.loadMs ?? 0) / 1000).toFixed(1)} s; sweeps ${JSON.stringify(h.sweeps)}`);
    const wal = (at: string) => {
      const files = h.sqliteMB?.[at] ?? {};
      return Object.entries(files)
        .map(([name, mb]) => `${name} ${mb} MB`)
        .join(', ');
    };
    out(
      `history: SQLite files before loading: ${wal('before')}; loaded: ${wal('loaded')}; after the phase: ${wal('after')}`,
    );
    if (h.monitoringCount) {
      out(
        `history: monitoring_buckets holds ${h.monitoringCount.documents.toLocaleString('en-US')} buckets of records (collStats, answered in ${h.monitoringCount.ms} ms)`,
      );
    }
  }
  const noisy = details.noisyNeighbour as NoisyOutcome | undefined;
  if (noisy?.cpuMsPerSecond) {
    for (const phase of ['quiet', 'attack'] as const) {
      const parts = Object.entries(noisy.cpuMsPerSecond[phase])
        .sort((a, b) => b[1] - a[1])
        .map(([name, ms]) => `${name} ${ms}`);
      out(`noisy ${phase}: CPU ms per second (with workers; 2 cores = 2,000): ${parts.join(', ')}`);
    }
  }
  if (noisy) {
    const parts = Object.entries(noisy.attacker.timing).map(
      ([name, t]) => `${name} ${t.count}× mean ${t.meanMs} max ${t.maxMs} ms`,
    );
    out(`noisy attacker (${noisy.attackClasses.join(', ')}): ${parts.join('; ')}`);
    out(`noisy attacker answers: ${JSON.stringify(noisy.attacker.answers)}`);
    const timeline = noisy.stages?.attack.timeline;
    if (timeline) {
      const seconds = timeline.map((t) => `${t.second}:${t.p99Ms}`);
      out(
        `noisy attack: the victim's request → processed p99 (ms) by second of sending: ${seconds.join(' ')}`,
      );
    }
    if (noisy.cpuTimeline) {
      // Each second's total and its three largest processes (2 cores = 2,000 ms per second).
      const seconds = noisy.cpuTimeline.map((rates, i) => {
        const { total, ...by } = rates;
        const top = Object.entries(by)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([name, ms]) => `${name.replace(/#0$/, '')} ${ms}`);
        return `${i}: ${total} (${top.join(', ')})`;
      });
      out(`noisy attack: CPU ms by second: ${seconds.join('; ')}`);
    }
  }
  for (const [name, message] of Object.entries(errors)) out(`step "${name}" failed: ${message}`);
  for (const exit of exits) out(`unplanned exit: ${exit}`);
}

const replacer = (_key: string, value: unknown) => (value instanceof Map ? undefined : value);

function machine() {
  const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 10) / 10;
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: gib(os.totalmem()),
    freeMemoryGiB: gib(os.freemem()),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO, encoding: 'utf8' }).trim();
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
