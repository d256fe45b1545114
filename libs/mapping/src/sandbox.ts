import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ExpressionLimits } from './expression.js';
import { DEFAULT_OUTPUT_LIMITS, type OutputLimits } from './output.js';
import type { MappingResult } from './types.js';
import type { ConfigurationProblem } from './validate.js';

/** One event (or simulation) to parse and map in the sandbox. */
export interface SandboxJob {
  /**
   * `<use case id>@<revision>`: the worker keeps the compiled mapping for the next jobs with this key.
   * Absent: compiled for this job only (a simulation of an unsaved configuration).
   */
  key?: string | undefined;
  /** The use case's inbound configuration (sent to the worker only when it may not have it yet). */
  configuration?: unknown;
  /** Validate the configuration first (for unsaved configurations): problems come back with their paths. */
  validate?: boolean;
  format: 'json' | 'xml';
  /** A JSON/XML text, or an already-parsed JSON value. */
  payload: unknown;
  /**
   * Whose job this is (an organisation id): waiting jobs are taken from each tenant in turn, and
   * `maxQueuedPerTenant` counts per tenant, so one tenant's backlog neither delays nor refuses another's.
   * Absent: one shared tenant.
   */
  tenant?: string | undefined;
}

export type SandboxOutcome =
  | { kind: 'result'; result: MappingResult }
  /** The payload is not valid JSON/XML (or nested too deep). */
  | { kind: 'payload'; message: string }
  /** The configuration does not validate or compile. */
  | { kind: 'configuration'; message: string; problems?: ConfigurationProblem[] }
  /** The job ran past its deadline or its memory cap: the worker was stopped and replaced. */
  | { kind: 'budget'; message: string }
  /** Too many jobs waiting (`maxQueued`): try again later. */
  | { kind: 'busy'; message: string }
  /** Anything else (a defect): not the event's fault, so callers retry. */
  | { kind: 'error'; message: string }
  /** Internal: the worker no longer has the key's mapping; the sandbox resends the configuration. */
  | { kind: 'unknown-key' };

export interface SandboxSettings {
  limits: ExpressionLimits;
  /** Hard wall-clock limit of one job (parse and map one event); past it the worker is terminated. */
  deadlineMs: number;
  /** Heap (old generation) of the worker in MB; a job that needs more kills only the worker. */
  memoryMb: number;
  /** Size limits of one event's mapping output (see `OutputLimits`); default `DEFAULT_OUTPUT_LIMITS`. */
  output?: OutputLimits;
  /**
   * Compiled mappings a worker keeps per tenant and in all (default 64 and 512): a tenant past its share
   * evicts its own, and past the total the tenant holding the most gives one up (compiled-cache.ts).
   */
  cache?: { perTenant: number; total: number };
  /** Told how long each job held its worker (from start to outcome), by tenant: a budget's meter. */
  onUsage?: (tenant: string, ms: number) => void;
  /**
   * How much lower the priority of a worker whose job runs long is than the service's: added to its nice
   * value (up to Unix's 19; default 0, the same) once the job has run `niceAfterMs`. Such a job (a
   * catastrophic expression) then gets the CPU only when the hub's own processes (event loops, broker,
   * database) and the other, quick mappings do not need it. Jobs that end sooner (nearly all) run at the
   * service's priority, so a busy machine does not starve the ordinary mappings. A process may lower its
   * priority but not raise it again, so the worker is replaced once its long job ends.
   */
  niceness?: number;
  /** How long a job runs before its worker's priority is lowered (default 200 ms). */
  niceAfterMs?: number;
  /**
   * Added to the service's nice value for every worker from its start (default 0), its start-up
   * included: for work that is not on the hub's pipeline (simulations), so none of it, quick or slow,
   * takes CPU the pipeline needs. `niceness` then lowers a long job's worker only past this.
   */
  startNiceness?: number;
  /**
   * Whether jobs may ask to validate their configuration (`validate`, default true): the worker then
   * loads the validator and its schema library when it starts (~0.3 s of CPU). The mapper's jobs never
   * do (false): its workers, replaced after every job stopped at its deadline, start without it and load
   * it only if a job asks (ADR 0015, decision 22).
   */
  validation?: boolean;
}

interface Pending {
  id: number;
  job: SandboxJob;
  resolve: (outcome: SandboxOutcome) => void;
  timer?: NodeJS.Timeout;
  /** Lowers the worker's priority once the job has run long (`niceAfterMs`). */
  niceTimer?: NodeJS.Timeout;
}

/**
 * Runs mappings in worker processes that can really be stopped (issue 10, item 3). jsonata checks its time
 * budget only between nodes, so a built-in (`$match` with a catastrophic regular expression, `$sort` of a
 * huge range) runs past it and may exhaust the heap. Here each job has a hard deadline and each worker a
 * heap cap: a job past either ends as a `budget` outcome, its worker is replaced, and the next job runs.
 * The workers are child processes, not threads (issue 19): a single allocation past a thread's heap cap
 * (`$pad("x", 200000000)` three times) makes V8 abort the whole process (`FatalProcessOutOfMemory`, not
 * `ERR_WORKER_OUT_OF_MEMORY`), so only a process of its own keeps the service alive.
 * Jobs wait in one queue per tenant, and an idle worker (`workers` of them, so one stuck job does not hold
 * the others back) takes the next job of each tenant in turn (round robin): a tenant with a thousand slow
 * jobs waiting delays another tenant's job by at most one job per worker. Compiled mappings live in the
 * workers, sent once per use-case revision.
 */
export class MappingSandbox {
  private readonly lanes: Lane[];
  /** Waiting jobs per tenant, and when each tenant was last served (the least recently served goes next). */
  private readonly queues = new Map<string, { jobs: Pending[]; lastServed: number }>();
  private served = 0;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly settings: SandboxSettings & {
      /** Worker processes (default 1). */
      workers?: number;
      /**
       * Start every worker now rather than with its first job: a worker that one organisation leaves
       * free for the others is up when they need it (starting takes seconds on a busy machine).
       */
      prestart?: boolean;
      /** A tenant's jobs waiting beyond this are answered `busy` at once (default: unbounded). */
      maxQueuedPerTenant?: number;
      /**
       * A tenant's jobs running at once at most (default: every worker). Below `workers`, a tenant whose
       * slow jobs run to their deadline leaves a worker free, so another tenant's job starts at once
       * instead of waiting for one of them to end.
       */
      maxRunningPerTenant?: number;
      /**
       * A tenant over its budget: its jobs are taken only when no other tenant's job waits (they still run,
       * later). Default: none.
       */
      isThrottled?: (tenant: string) => boolean;
    },
  ) {
    this.lanes = Array.from(
      { length: Math.max(1, settings.workers ?? 1) },
      () => new Lane(settings, () => this.pump()),
    );
    if (settings.prestart) for (const lane of this.lanes) lane.warmUp();
  }

  /** Workers started so far, replacements included. */
  get started(): number {
    return this.lanes.reduce((n, lane) => n + lane.started, 0);
  }

  /** The process ids of the workers running now (a worker starts with its first job). */
  get workerPids(): number[] {
    return this.lanes.flatMap((lane) => (lane.pid === undefined ? [] : [lane.pid]));
  }

  run(job: SandboxJob): Promise<SandboxOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'error', message: 'the mapping sandbox is closed' });
    const tenant = job.tenant ?? '';
    const queue = this.queues.get(tenant) ?? { jobs: [], lastServed: 0 };
    const limit = this.settings.maxQueuedPerTenant;
    if (limit !== undefined && queue.jobs.length >= limit) {
      return Promise.resolve({
        kind: 'busy',
        message: `${queue.jobs.length} mappings of this organisation are waiting; retry shortly`,
      });
    }
    this.queues.set(tenant, queue);
    return new Promise((resolve) => {
      queue.jobs.push({ id: this.nextId++, job, resolve });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { jobs } of this.queues.values())
      for (const p of jobs.splice(0)) p.resolve({ kind: 'error', message: 'the mapping sandbox is closed' });
    this.queues.clear();
    await Promise.all(this.lanes.map((lane) => lane.close()));
  }

  private pump(): void {
    if (this.closed) return;
    for (;;) {
      const idle = this.lanes.filter((lane) => lane.idle);
      if (idle.length === 0) return;
      const next = this.takeNext((tenant) => laneFor(idle, tenant) !== undefined);
      if (!next) return;
      laneFor(idle, next.job.tenant ?? '')!.start(next);
    }
  }

  /**
   * The first waiting job of the tenant served least recently (a tenant new to the queue first, then in
   * turn). Tenants with nothing waiting are forgotten once many are known, so the scan stays short.
   */
  private takeNext(placeable: (tenant: string) => boolean): Pending | undefined {
    let pick: { jobs: Pending[]; lastServed: number; throttled: boolean } | undefined;
    const throttled = this.settings.isThrottled;
    const cap = this.settings.maxRunningPerTenant;
    for (const [tenant, queue] of this.queues) {
      if (queue.jobs.length === 0) continue;
      if (!placeable(tenant)) continue;
      if (cap !== undefined && this.lanes.filter((l) => !l.idle && l.lastTenant === tenant).length >= cap)
        continue;
      const late = throttled?.(tenant) ?? false;
      if (
        !pick ||
        (pick.throttled && !late) ||
        (pick.throttled === late && queue.lastServed < pick.lastServed)
      )
        pick = { ...queue, throttled: late };
    }
    if (!pick) return undefined;
    const queue = this.queues.get(pick.jobs[0]!.job.tenant ?? '')!;
    queue.lastServed = ++this.served;
    if (this.queues.size > 1_000)
      for (const [tenant, queue] of this.queues) if (queue.jobs.length === 0) this.queues.delete(tenant);
    return queue.jobs.shift();
  }
}

/** What choosing a worker for a job needs to know of one (`Lane`; tests use plain objects). */
export interface LaneState {
  /** Its worker is up and ready for a job. */
  warm: boolean;
  /** Its worker is starting (a replacement): ready in a moment, seconds on a busy machine. */
  starting: boolean;
  /** The tenant of the job it ran last. */
  lastTenant: string | undefined;
  /** The tenant whose job was stopped (its deadline or heap cap) and the worker replaced since. */
  stoppedFor: string | undefined;
}

/**
 * The idle worker a job of `tenant` goes to now, or none: then the job waits for the next worker that is
 * free or up (ADR 0015, decision 21). Of the workers that are up: the one that served the tenant last
 * (it has the tenant's compiled mappings), else any; but a tenant whose job was stopped (deadline, heap
 * cap) takes its own replacement still starting, leaving the workers that are up to the others. A job is
 * never bound to a worker still starting otherwise: a busy machine takes seconds to start one, and a
 * worker that is up is free again a few milliseconds later, unless every busy one runs long, and then
 * the first to be up takes the next job in turn. A worker not running at all (stopped for an error; it
 * starts with its next job) is taken when none is up or starting.
 */
export function laneFor<L extends LaneState>(idle: L[], tenant: string): L | undefined {
  const warm = idle.filter((l) => l.warm);
  if (warm.length === 0)
    return idle.some((l) => l.starting) ? undefined : idle.find((l) => !l.warm && !l.starting);
  return (
    warm.find((l) => l.lastTenant === tenant) ??
    idle.find((l) => l.starting && l.stoppedFor === tenant) ??
    warm[0]
  );
}

/** One worker process and the job it runs. */
class Lane implements LaneState {
  private worker: ChildProcess | undefined;
  /** Keys whose configuration the current worker has been sent. */
  private readonly known = new Set<string>();
  private current: Pending | undefined;
  /** The current worker has loaded its modules (it says so with its first message). */
  private ready = false;
  private startedAt = 0;
  private closed = false;
  /** The current worker's priority was lowered (its job ran long). */
  private lowered = false;
  /** The tenant of the job it ran last. */
  lastTenant: string | undefined;
  stoppedFor: string | undefined;
  started = 0;

  constructor(
    private readonly settings: SandboxSettings,
    private readonly onIdle: () => void,
  ) {}

  get idle(): boolean {
    return this.current === undefined;
  }

  get pid(): number | undefined {
    return this.worker?.pid;
  }

  /** Its worker has started and is ready for a job. */
  get warm(): boolean {
    return this.worker !== undefined && this.ready;
  }

  /** Its worker is starting: not ready yet. */
  get starting(): boolean {
    return this.worker !== undefined && !this.ready;
  }

  start(pending: Pending): void {
    this.current = pending;
    this.stoppedFor = undefined;
    this.lastTenant = pending.job.tenant ?? '';
    this.startedAt = Date.now();
    this.post(pending);
    if (this.ready) this.arm(pending);
  }

  /** The deadline runs from when the worker can start the job (a new worker's boot is not the job's). */
  private arm(pending: Pending): void {
    if (pending.timer) return;
    const niceness = this.settings.niceness ?? 0;
    if (niceness > (this.settings.startNiceness ?? 0)) {
      pending.niceTimer = setTimeout(() => {
        const pid = this.worker?.pid;
        if (this.current !== pending || pid === undefined) return;
        try {
          setPriority(pid, Math.min(19, getPriority() + niceness));
          this.lowered = true;
        } catch {
          // Already gone (its exit is handled below), or a platform without priorities: it runs as is.
        }
      }, this.settings.niceAfterMs ?? 200);
    }
    pending.timer = setTimeout(() => {
      const worker = this.worker;
      this.worker = undefined;
      worker?.kill('SIGKILL');
      this.stoppedFor = pending.job.tenant ?? '';
      this.replace();
      this.finish(pending, {
        kind: 'budget',
        message: `mapping this event took longer than its hard deadline of ${this.settings.deadlineMs} ms (a JSONata built-in such as $match or $sort, or a range, that never yields); the evaluation was stopped`,
      });
    }, this.settings.deadlineMs);
  }

  /** Starts the worker now (if it is not running), so it is up by the first job. */
  warmUp(): void {
    this.replace();
  }

  /** Starts the replacement of a stopped worker at once, so it is up by the next job. */
  private replace(): void {
    if (this.closed) return;
    try {
      this.ensureWorker();
    } catch {
      // Started again with the next job, whose outcome then says why.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.current)
      this.finish(this.current, { kind: 'error', message: 'the mapping sandbox is closed' }, false);
    const worker = this.worker;
    this.worker = undefined;
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.ref(); // awaited: the service waits for it
      worker.kill('SIGKILL');
      await exited;
    }
  }

  private post(pending: Pending, forceConfiguration = false): void {
    const worker = this.ensureWorker();
    const { key } = pending.job;
    const send = forceConfiguration || key === undefined || !this.known.has(key);
    worker.send({
      id: pending.id,
      job: { ...pending.job, configuration: send ? pending.job.configuration : undefined },
    });
    if (key !== undefined) this.known.add(key);
  }

  private ensureWorker(): ChildProcess {
    if (this.worker) return this.worker;
    const entry = workerEntry();
    const { limits, output = DEFAULT_OUTPUT_LIMITS, memoryMb, cache, validation = true } = this.settings;
    // Its own process: past the heap cap V8 aborts the process it runs in, whatever the cause.
    const worker = fork(entry.file, [JSON.stringify({ limits, output, cache, validation })], {
      execArgv: [...entry.execArgv, `--max-old-space-size=${memoryMb}`, '--max-semi-space-size=8'],
      serialization: 'advanced',
      // Its output is V8's own (an out-of-memory report): nothing of it goes to the service's log.
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    worker.unref();
    worker.channel?.unref();
    const startNiceness = this.settings.startNiceness ?? 0;
    if (startNiceness > 0 && worker.pid !== undefined) {
      try {
        setPriority(worker.pid, Math.min(19, getPriority() + startNiceness));
      } catch {
        // A platform without priorities: it runs at the service's.
      }
    }
    this.started++;
    this.known.clear();
    this.ready = false;
    this.lowered = false;
    worker.on('message', (message: { id: number; outcome: SandboxOutcome } | { ready: true }) => {
      if (this.worker !== worker) return;
      if ('ready' in message) {
        this.ready = true;
        if (this.current) this.arm(this.current);
        else this.onIdle(); // a job may wait for a worker that is up
        return;
      }
      const pending = this.current;
      if (!pending || pending.id !== message.id) return;
      if (message.outcome.kind === 'unknown-key') {
        this.post(pending, true);
        return;
      }
      this.finish(pending, message.outcome);
    });
    const died = (outcome: SandboxOutcome) => {
      if (this.worker !== worker) return; // an old worker, already replaced
      this.worker = undefined;
      // Out of memory: replaced at once. A worker that failed otherwise starts again with the next job.
      if (outcome.kind === 'budget') {
        this.stoppedFor = this.current?.job.tenant;
        this.replace();
      }
      if (this.current) this.finish(this.current, outcome);
      else this.onIdle(); // a job waiting for it to start goes elsewhere
    };
    worker.on('error', (err: Error) =>
      // The worker could not start or be written to: not the event's fault, an `error` outcome (retried).
      died({ kind: 'error', message: `the mapping sandbox failed: ${err.message}` }),
    );
    worker.on('exit', (code, signal) =>
      died(
        // V8 out of memory aborts the process (SIGABRT, or 134 where a shell stands between): the job's doing.
        signal === 'SIGABRT' || code === 134
          ? {
              kind: 'budget',
              message: `mapping this event needed more than the sandbox's ${memoryMb} MB of memory; the evaluation was stopped`,
            }
          : {
              kind: 'error',
              message: `the mapping sandbox exited (${signal ? `signal ${signal}` : `code ${code}`})`,
            },
      ),
    );
    this.worker = worker;
    return worker;
  }

  private finish(pending: Pending, outcome: SandboxOutcome, next = true): void {
    clearTimeout(pending.timer);
    clearTimeout(pending.niceTimer);
    if (this.lowered) {
      // Its priority cannot be raised again: the next jobs get a new worker at the service's priority.
      this.lowered = false;
      const worker = this.worker;
      this.worker = undefined;
      worker?.kill('SIGKILL');
      this.replace();
    }
    if (this.current === pending) {
      this.current = undefined;
      this.settings.onUsage?.(pending.job.tenant ?? '', Date.now() - this.startedAt);
    }
    pending.resolve(outcome);
    if (next) this.onIdle();
  }
}

/** The worker's module: the compiled one next to this file, or the TypeScript source through tsx (tests). */
function workerEntry(): { file: string; execArgv: string[] } {
  const compiled = new URL('./sandbox-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return { file: fileURLToPath(compiled), execArgv: [] };
  return {
    file: fileURLToPath(new URL('./sandbox-worker.ts', import.meta.url)),
    execArgv: ['--import', 'tsx'],
  };
}
