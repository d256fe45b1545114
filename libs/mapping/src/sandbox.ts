import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ExpressionLimits } from './expression.js';
import { DEFAULT_OUTPUT_LIMITS, type OutputLimits } from './output.js';
import { lowerPriority } from './priority.js';
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

/** What the caller of one job is told as it moves through the sandbox (the mapper's phases, decision 20). */
export interface RunHooks {
  /** A worker took the job (with the others of its batch); called again if it was given back and taken again. */
  onStart?: () => void;
  /**
   * Asked when a worker is about to take the job: true answers it `cancelled` without running it (the
   * mapper's use case was quarantined while the job waited).
   */
  cancelled?: () => boolean;
}

interface Pending {
  id: number;
  job: SandboxJob;
  resolve: (outcome: SandboxOutcome | { kind: 'cancelled' }) => void;
  hooks?: RunHooks | undefined;
  /** Send the configuration even if the worker was sent it (it answered `unknown-key`). */
  resend?: boolean;
  /** Its post carried the configuration (the worker compiles it when it runs this job). */
  carried?: boolean;
}

/** Jobs of one tenant posted to one worker in one message (ADR 0015, decision 25). */
interface Batch {
  seq: number;
  tenant: string;
  jobs: Pending[];
  /** The job the worker runs now (its earlier ones answered), once it is ready. */
  position: number;
  /** Jobs from this index were given back to the queue (`reclaim`): their answers, if any, are ignored. */
  limit: number;
  /** When the job at `position` started (its deadline and its worker time count from there). */
  jobStartedAt: number;
  /** The worker is ready: the timers run. */
  armed: boolean;
  /** When it was armed (its first job started). */
  armedAt: number;
  timer?: NodeJS.Timeout | undefined;
  niceTimer?: NodeJS.Timeout | undefined;
  sliceTimer?: NodeJS.Timeout | undefined;
}

/** What the worker answers (sandbox-worker.ts). */
type WorkerMessage =
  | { ready: true }
  /** The outcome of the batch's job at `index`. */
  | { seq: number; index: number; outcome: SandboxOutcome }
  /** The worker stopped the batch before its job at `end` (the rest was given back). */
  | { seq: number; end: number };

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
 *
 * With `batch` (the mapper, ADR 0015 decision 25), a worker takes up to `batch.max` waiting jobs of the
 * tenant whose turn it is, posted in one message; it answers each job as it ends, and each job still has
 * its own deadline (armed when the job before it is answered). A batch never holds what it has not
 * started: the jobs behind its running one are given back to the front of their tenant's queue (and the
 * worker told to skip them) once the batch has run `batch.sliceMs`, as soon as another tenant's job waits
 * with no worker to take it, and when the running job ends at its deadline or heap cap. So another
 * tenant's job still waits for at most one job per worker, and a slow job holds only itself.
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
       * instead of waiting for one of them to end. With batches: workers running the tenant's batches.
       */
      maxRunningPerTenant?: number;
      /**
       * A tenant over its budget: its jobs are taken only when no other tenant's job waits (they still run,
       * later). Default: none.
       */
      isThrottled?: (tenant: string) => boolean;
      /**
       * Jobs of one tenant a worker takes at once (`max`, default 1: one job per message) and how long a
       * batch may start jobs (`sliceMs`, default 20 ms): see the class comment.
       */
      batch?: { max: number; sliceMs?: number; fairMs?: number };
    },
  ) {
    const sliceMs = settings.batch?.sliceMs ?? 20;
    this.lanes = Array.from(
      { length: Math.max(1, settings.workers ?? 1) },
      () =>
        new Lane(
          settings,
          sliceMs,
          () => this.pump(),
          (jobs) => this.giveBack(jobs),
        ),
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

  /** Messages posted to the workers so far (jobs and batches; a test's view of the batching). */
  get posted(): number {
    return this.lanes.reduce((n, lane) => n + lane.posted, 0);
  }

  run(job: SandboxJob): Promise<SandboxOutcome>;
  run(job: SandboxJob, hooks: RunHooks): Promise<SandboxOutcome | { kind: 'cancelled' }>;
  run(job: SandboxJob, hooks?: RunHooks): Promise<SandboxOutcome | { kind: 'cancelled' }> {
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
      queue.jobs.push({ id: this.nextId++, job, resolve, hooks });
      this.pump();
    });
  }

  /**
   * Whether a job of `tenant` waiting now is held up for a while (ADR 0015, decision 20): the tenant runs
   * on as many workers as it may (`maxRunningPerTenant`), and on each the running job has run `heldMs`
   * already (to the deadline, perhaps), so its next job will not start soon.
   */
  blocked(tenant: string, heldMs: number, now = Date.now()): boolean {
    const cap = this.settings.maxRunningPerTenant ?? this.lanes.length;
    const running = this.lanes.filter((l) => l.runningFor === tenant);
    if (running.length < cap) return false;
    return running.every((l) => l.runningSince !== undefined && now - l.runningSince >= heldMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.fairTimer);
    for (const { jobs } of this.queues.values())
      for (const p of jobs.splice(0)) p.resolve({ kind: 'error', message: 'the mapping sandbox is closed' });
    this.queues.clear();
    await Promise.all(this.lanes.map((lane) => lane.close()));
  }

  /** Jobs a worker took but did not start: back to the front of their tenant's queue, in their order. */
  private giveBack(jobs: Pending[]): void {
    if (jobs.length === 0) return;
    if (this.closed) {
      for (const p of jobs) p.resolve({ kind: 'error', message: 'the mapping sandbox is closed' });
      return;
    }
    const tenant = jobs[0]!.job.tenant ?? '';
    const queue = this.queues.get(tenant) ?? { jobs: [], lastServed: 0 };
    queue.jobs.unshift(...jobs);
    this.queues.set(tenant, queue);
  }

  private pump(): void {
    if (this.closed) return;
    for (;;) {
      const idle = this.lanes.filter((lane) => lane.idle);
      if (idle.length === 0) break;
      const next = this.takeNext(idle);
      if (!next) break;
      const lane = laneFor(idle, next.tenant)!;
      // A worker still starting (seconds on a busy machine) takes one job, as without batches: the others
      // stay free for a worker that is up.
      if (!lane.warm && next.jobs.length > 1) this.giveBack(next.jobs.splice(1));
      lane.start(next.jobs);
    }
    this.makeRoom();
  }

  /**
   * A job waits that no worker can take now (each is busy or starting) while batches of other tenants
   * have jobs not started: once such a batch has run `batch.fairMs` (2 ms), its jobs not started are
   * given back, so the next worker free takes the waiting job in turn (at most `fairMs` and one job per
   * worker ahead of it; with `fairMs` 0, one job per worker, as without batches, but then batches of
   * more tenants than workers are cut at once and cost more than single jobs).
   */
  private makeRoom(): void {
    if (this.lanes.every((l) => !l.reclaimable)) return;
    const cap = this.settings.maxRunningPerTenant;
    const fairMs = this.settings.batch?.fairMs ?? 2;
    const now = Date.now();
    for (const [tenant, queue] of this.queues) {
      if (queue.jobs.length === 0) continue;
      if (this.settings.isThrottled?.(tenant)) continue; // served when no one else waits anyway
      if (cap !== undefined && this.lanes.filter((l) => l.runningFor === tenant).length >= cap) continue;
      let later = false;
      for (const lane of this.lanes) {
        if (lane.runningFor === tenant || !lane.reclaimable) continue;
        if (lane.batchAge(now) >= fairMs) lane.reclaim();
        else later = true;
      }
      if (later && !this.fairTimer) {
        this.fairTimer = setTimeout(() => {
          this.fairTimer = undefined;
          this.pump();
        }, fairMs);
        this.fairTimer.unref?.();
      }
      return;
    }
  }
  private fairTimer: NodeJS.Timeout | undefined;

  /**
   * The waiting jobs of the tenant served least recently (a tenant new to the queue first, then in turn),
   * up to a batch: its share of the idle workers it may use, at most `batch.max`. A job `cancelled` when
   * taken is answered so and skipped. Tenants with nothing waiting are forgotten once many are known, so
   * the scan stays short.
   */
  private takeNext(idle: Lane[]): { tenant: string; jobs: Pending[] } | undefined {
    for (;;) {
      let pick: { tenant: string; lastServed: number; throttled: boolean; free: number } | undefined;
      const throttled = this.settings.isThrottled;
      const cap = this.settings.maxRunningPerTenant;
      for (const [tenant, queue] of this.queues) {
        if (queue.jobs.length === 0) continue;
        if (laneFor(idle, tenant) === undefined) continue;
        const running = this.lanes.filter((l) => l.runningFor === tenant).length;
        if (cap !== undefined && running >= cap) continue;
        const late = throttled?.(tenant) ?? false;
        if (
          !pick ||
          (pick.throttled && !late) ||
          (pick.throttled === late && queue.lastServed < pick.lastServed)
        )
          pick = {
            tenant,
            lastServed: queue.lastServed,
            throttled: late,
            free: Math.max(1, Math.min(idle.length, (cap ?? this.lanes.length) - running)),
          };
      }
      if (!pick) return undefined;
      const queue = this.queues.get(pick.tenant)!;
      queue.lastServed = ++this.served;
      if (this.queues.size > 1_000)
        for (const [tenant, other] of this.queues) if (other.jobs.length === 0) this.queues.delete(tenant);
      // Spread over the workers the tenant may take now: two idle workers map half each, at once.
      const size = Math.max(
        1,
        Math.min(this.settings.batch?.max ?? 1, Math.ceil(queue.jobs.length / pick.free)),
      );
      const jobs: Pending[] = [];
      while (jobs.length < size && queue.jobs.length > 0) {
        const pending = queue.jobs.shift()!;
        if (pending.hooks?.cancelled?.()) pending.resolve({ kind: 'cancelled' });
        else jobs.push(pending);
      }
      if (jobs.length > 0) return { tenant: pick.tenant, jobs };
    }
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

/** One worker process and the batch of jobs it runs. */
class Lane implements LaneState {
  private worker: ChildProcess | undefined;
  /** Keys whose configuration the current worker has been sent. */
  private readonly known = new Set<string>();
  private current: Batch | undefined;
  private nextSeq = 1;
  /** The current worker has loaded its modules (it says so with its first message). */
  private ready = false;
  private closed = false;
  /** The current worker's priority was lowered (its job ran long). */
  private lowered = false;
  /** The tenant of the job it ran last. */
  lastTenant: string | undefined;
  stoppedFor: string | undefined;
  started = 0;
  posted = 0;

  constructor(
    private readonly settings: SandboxSettings,
    private readonly sliceMs: number,
    private readonly onIdle: () => void,
    private readonly giveBack: (jobs: Pending[]) => void,
  ) {}

  get idle(): boolean {
    return this.current === undefined;
  }

  /** The tenant whose batch it runs now. */
  get runningFor(): string | undefined {
    return this.current?.tenant;
  }

  /** Since when its running job runs (undefined until its worker is ready). */
  get runningSince(): number | undefined {
    return this.current?.armed ? this.current.jobStartedAt : undefined;
  }

  /** How long its batch has run (0 until its worker is ready). */
  batchAge(now: number): number {
    const batch = this.current;
    return batch?.armed ? now - batch.armedAt : 0;
  }

  /** Its batch has jobs behind the running one that could be given back. */
  get reclaimable(): boolean {
    const batch = this.current;
    return batch !== undefined && batch.limit > batch.position + 1;
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

  start(jobs: Pending[]): void {
    const tenant = jobs[0]!.job.tenant ?? '';
    const batch: Batch = {
      seq: this.nextSeq++,
      tenant,
      jobs,
      position: 0,
      limit: jobs.length,
      jobStartedAt: Date.now(),
      armed: false,
      armedAt: 0,
    };
    this.current = batch;
    this.stoppedFor = undefined;
    this.lastTenant = tenant;
    this.post(batch);
    if (this.ready) this.arm(batch);
    // After the post: a hook that adds a job (and so gives this batch's rest back) is told after it.
    for (const p of jobs) p.hooks?.onStart?.();
  }

  /**
   * The jobs behind the running one go back to their queue (and the worker is told to skip them): another
   * worker, or this one's next batch, takes them in turn. A job the worker started meanwhile (its answer
   * crossing the message) is run again elsewhere, its answer here ignored: mappings have no side effects.
   */
  reclaim(thenPump = false): void {
    const batch = this.current;
    if (!batch || batch.limit <= batch.position + 1) return;
    const from = batch.position + 1;
    const back = batch.jobs.slice(from, batch.limit);
    batch.limit = from;
    this.back(back);
    try {
      this.worker?.send({ cancel: batch.seq, from });
    } catch {
      // Gone: its exit ends the batch.
    }
    // A worker idle meanwhile may take them at once.
    if (thenPump) this.onIdle();
  }

  /** The deadline runs from when the worker can start the job (a new worker's boot is not the job's). */
  private arm(batch: Batch): void {
    if (batch.armed) return;
    batch.armed = true;
    batch.armedAt = Date.now();
    this.armJob(batch);
    if (batch.limit > 1) batch.sliceTimer = setTimeout(() => this.reclaim(true), this.sliceMs);
  }

  /**
   * The job the worker runs now (`position`) starts now: its deadline and its priority timer count from
   * here. One timer of each per batch, not per job: when it fires early (the job it was set for has
   * ended) it is set again for what is left of the running job's time.
   */
  private armJob(batch: Batch, now = Date.now()): void {
    batch.jobStartedAt = now;
    const niceness = this.settings.niceness ?? 0;
    const niceAfterMs = this.settings.niceAfterMs ?? 200;
    if (niceness > (this.settings.startNiceness ?? 0) && batch.niceTimer === undefined) {
      const lower = () => {
        const pid = this.worker?.pid;
        if (this.current !== batch || pid === undefined) return;
        const left = batch.jobStartedAt + niceAfterMs - Date.now();
        if (left > 0) {
          batch.niceTimer = setTimeout(lower, left);
          return;
        }
        try {
          lowerPriority(pid, niceness);
          this.lowered = true;
        } catch {
          // Already gone (its exit is handled below), or a platform without priorities: it runs as is.
        }
      };
      batch.niceTimer = setTimeout(lower, niceAfterMs);
    }
    if (batch.timer === undefined) {
      const deadline = () => {
        if (this.current !== batch) return;
        const left = batch.jobStartedAt + this.settings.deadlineMs - Date.now();
        if (left > 0) {
          batch.timer = setTimeout(deadline, left);
          return;
        }
        const worker = this.worker;
        this.worker = undefined;
        worker?.kill('SIGKILL');
        this.stoppedFor = batch.tenant;
        this.replace();
        this.stop(batch, {
          kind: 'budget',
          message: `mapping this event took longer than its hard deadline of ${this.settings.deadlineMs} ms (a JSONata built-in such as $match or $sort, or a range, that never yields); the evaluation was stopped`,
        });
      };
      batch.timer = setTimeout(deadline, this.settings.deadlineMs);
    }
  }

  private disarmJob(batch: Batch): void {
    clearTimeout(batch.timer);
    clearTimeout(batch.niceTimer);
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
      this.stop(this.current, { kind: 'error', message: 'the mapping sandbox is closed' }, false);
    const worker = this.worker;
    this.worker = undefined;
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.ref(); // awaited: the service waits for it
      worker.kill('SIGKILL');
      await exited;
    }
  }

  /** One message for the batch; each configuration only where the worker may not have it yet. */
  private post(batch: Batch): void {
    const worker = this.ensureWorker();
    const jobs = batch.jobs.map((pending) => {
      const { key } = pending.job;
      const send = pending.resend === true || key === undefined || !this.known.has(key);
      if (key !== undefined) this.known.add(key);
      pending.carried = send;
      return {
        id: pending.id,
        job: send ? pending.job : { ...pending.job, configuration: undefined },
      };
    });
    this.posted++;
    worker.send({ seq: batch.seq, jobs });
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
      // A session of its own: on Linux its own autogroup, so a lowered priority lowers it against every
      // process of the machine, not only its service's (priority.ts). It still ends with the service:
      // `close` kills it, it exits when its channel closes, and a thread of its own kills it when the
      // service is gone while a job never yields (sandbox-worker.ts).
      detached: process.platform !== 'win32',
    });
    worker.unref();
    worker.channel?.unref();
    // Its own group starts at nice 0: set from the service's group (and lowered by startNiceness).
    if (worker.pid !== undefined) {
      try {
        lowerPriority(worker.pid, this.settings.startNiceness ?? 0);
      } catch {
        // A platform without priorities: it runs at the service's.
      }
    }
    this.started++;
    this.known.clear();
    this.ready = false;
    this.lowered = false;
    worker.on('message', (message: WorkerMessage) => {
      if (this.worker !== worker) return;
      if ('ready' in message) {
        this.ready = true;
        if (this.current) this.arm(this.current);
        else this.onIdle(); // a job may wait for a worker that is up
        return;
      }
      const batch = this.current;
      if (!batch || batch.seq !== message.seq) return;
      if ('end' in message) {
        this.end(batch);
        return;
      }
      this.answered(batch, message.index, message.outcome);
    });
    const died = (outcome: SandboxOutcome) => {
      if (this.worker !== worker) return; // an old worker, already replaced
      this.worker = undefined;
      // Out of memory: replaced at once. A worker that failed otherwise starts again with the next job.
      if (outcome.kind === 'budget') {
        this.stoppedFor = this.current?.tenant;
        this.replace();
      }
      if (this.current) this.stop(this.current, outcome);
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

  /**
   * Jobs of the batch not run here go back to their queue; one that carried its configuration takes it
   * along (the worker never compiled it).
   */
  private back(jobs: Pending[]): void {
    for (const p of jobs) {
      if (!p.carried) continue;
      p.resend = true;
      if (p.job.key !== undefined) this.known.delete(p.job.key);
    }
    if (this.closed)
      for (const p of jobs) p.resolve({ kind: 'error', message: 'the mapping sandbox is closed' });
    else this.giveBack(jobs);
  }

  /** The worker answered the batch's job at `index`; it goes on with the next. */
  private answered(batch: Batch, index: number, outcome: SandboxOutcome): void {
    if (index !== batch.position) return; // not expected: answers come in order
    const now = Date.now();
    const pending = batch.jobs[index]!;
    batch.position = index + 1;
    if (index < batch.limit) {
      this.settings.onUsage?.(batch.tenant, now - batch.jobStartedAt);
      if (outcome.kind === 'unknown-key') {
        // The worker gave up the key's compiled mapping: the job goes back, with its configuration.
        pending.carried = true;
        this.back([pending]);
      } else pending.resolve(outcome);
    }
    if (batch.position >= batch.jobs.length) {
      this.end(batch);
      return;
    }
    if (this.lowered) {
      // Its priority cannot be raised again: the rest goes back, and the next jobs get a new worker.
      this.back(batch.jobs.slice(batch.position, batch.limit));
      batch.limit = batch.position;
      this.retire(batch);
      return;
    }
    this.armJob(batch, now); // also for a job given back but started (its deadline still ends it here)
  }

  /** The batch is over (every job answered, or the worker stopped before the ones given back). */
  private end(batch: Batch): void {
    if (batch.position < batch.limit) {
      // Not run (the worker stopped early): back to the queue.
      this.back(batch.jobs.slice(batch.position, batch.limit));
      batch.limit = batch.position;
    }
    this.disarmJob(batch);
    clearTimeout(batch.sliceTimer);
    if (this.current === batch) this.current = undefined;
    if (this.lowered) {
      // Its priority cannot be raised again: the next jobs get a new worker at the service's priority.
      this.lowered = false;
      const worker = this.worker;
      this.worker = undefined;
      worker?.kill('SIGKILL');
      this.replace();
    }
    this.onIdle();
  }

  /** Ends the batch at once with a new worker (the old one's priority was lowered). */
  private retire(batch: Batch): void {
    this.lowered = false;
    const worker = this.worker;
    this.worker = undefined;
    worker?.kill('SIGKILL');
    this.replace();
    this.end(batch);
  }

  /**
   * The running job ended without an answer (its deadline, its heap cap, its worker gone, the sandbox
   * closed): it gets `outcome`, the jobs behind it go back to their queue, and the batch is over.
   */
  private stop(batch: Batch, outcome: SandboxOutcome, next = true): void {
    this.disarmJob(batch);
    clearTimeout(batch.sliceTimer);
    const now = Date.now();
    if (batch.position < batch.limit) {
      const pending = batch.jobs[batch.position]!;
      this.settings.onUsage?.(batch.tenant, now - batch.jobStartedAt);
      pending.resolve(outcome);
      const back = batch.jobs.slice(batch.position + 1, batch.limit);
      batch.limit = batch.position;
      this.back(back);
    }
    if (this.current === batch) this.current = undefined;
    if (this.lowered) {
      this.lowered = false;
      const worker = this.worker;
      this.worker = undefined;
      worker?.kill('SIGKILL');
      this.replace();
    }
    // The next job is taken once the caller has seen this outcome (the mapper quarantines a use case on
    // it, and a job of that use case waiting now is then answered `cancelled`, not run): its reaction to
    // the outcome is queued before this.
    if (next) queueMicrotask(() => this.onIdle());
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
