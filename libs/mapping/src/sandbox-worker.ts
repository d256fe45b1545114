/**
 * The mapping sandbox's worker process (see sandbox.ts): parses payloads and runs compiled mappings, one job
 * at a time (jobs come in batches of one tenant), answering each on the IPC channel as it ends. It may be
 * killed at any moment (deadline) or die of its heap limit; it holds nothing that is not rebuilt from the
 * next jobs. Its settings come as its argument.
 */
import { Worker } from 'node:worker_threads';
import { CompiledCache } from './compiled-cache.js';
import { CompiledMapping } from './engine.js';
import type { ExpressionLimits } from './expression.js';
import type { OutputLimits } from './output.js';
import { PayloadError, parsePayload } from './payload.js';
import type { SandboxJob, SandboxOutcome } from './sandbox.js';
import type { InboundConfiguration } from './types.js';

const { limits, output, cache, validation } = JSON.parse(process.argv[2] ?? '{}') as {
  limits: ExpressionLimits;
  output: OutputLimits;
  cache?: { perTenant: number; total: number };
  validation?: boolean;
};
/**
 * Compiled mappings by tenant and use case (`<id>@<revision>`), each tenant's share bounded (see
 * CompiledCache); a new revision replaces the older ones of its use case. An evicted key is answered
 * `unknown-key` and the sandbox resends its configuration.
 */
const compiled = new CompiledCache<CompiledMapping>(cache ?? { perTenant: 64, total: 512 });
/**
 * The validator (and the schema library under it, ~0.3 s of CPU to load): loaded at the start where jobs
 * validate (simulations), else only once a job asks. The mapper's workers, replaced after every job stopped
 * at its deadline, start with only what mapping needs (ADR 0015, decision 22).
 */
let validator: Promise<typeof import('./validate.js')> | undefined =
  validation === false ? undefined : import('./validate.js');

async function run(job: SandboxJob, batchConfigurations?: Map<string, unknown>): Promise<SandboxOutcome> {
  const tenant = job.tenant ?? '';
  let mapping = job.key ? compiled.get(tenant, job.key) : undefined;
  if (!mapping) {
    // Sent once per batch: a mapping evicted from the cache within the batch is compiled again from it.
    const configuration = job.configuration ?? (job.key ? batchConfigurations?.get(job.key) : undefined);
    if (configuration === undefined) return { kind: 'unknown-key' };
    if (job.validate) {
      validator ??= import('./validate.js');
      const problems = (await validator).validateInboundConfiguration(configuration);
      if (problems.length > 0)
        return { kind: 'configuration', message: 'invalid mapping configuration', problems };
    }
    try {
      mapping = CompiledMapping.compile(configuration as InboundConfiguration, limits);
    } catch (err) {
      return { kind: 'configuration', message: (err as Error).message };
    }
    if (job.key) {
      const useCase = job.key.slice(0, job.key.lastIndexOf('@') + 1);
      compiled.set(tenant, job.key, mapping, (k) => k.startsWith(useCase));
    }
  }
  let tree: unknown;
  try {
    tree = parsePayload(job.format, job.payload);
  } catch (err) {
    if (err instanceof PayloadError) return { kind: 'payload', message: err.message };
    throw err;
  }
  return { kind: 'result', result: await mapping.map(tree, output) };
}

const send = (message: unknown) => process.send?.(message);
// The service is gone (or closed the sandbox): nothing is left to answer.
process.on('disconnect', () => process.exit(0));
// That needs this thread free, and a job that never yields (the runaway expression that got this worker's
// priority lowered) keeps it busy: a service killed meanwhile (SIGKILL, a crash) would leave this process
// running without end, in a session of its own. A thread of its own sees the parent change (the orphan is
// handed to init or a subreaper) and kills the process.
const watchdog = new Worker(
  `const { ppid, pid } = require('node:worker_threads').workerData;
  setInterval(() => { if (process.ppid !== ppid) process.kill(pid, 'SIGKILL'); }, 1000);`,
  {
    eval: true,
    workerData: { ppid: process.ppid, pid: process.pid },
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
  },
);
watchdog.unref();
// Jobs run once the worker said it is ready (its deadline is armed then): one sent meanwhile waits.
const loaded = validator ? validator.then(() => undefined) : Promise.resolve();

/**
 * A batch of one tenant's jobs (ADR 0015, decision 25): run one after the other, each answered as it
 * ends (the service arms the next one's deadline then). The service may give back the jobs not started
 * (`cancel`): the worker looks for that between jobs and stops before the first of them.
 */
interface Batch {
  seq: number;
  jobs: Array<{ id: number; job: SandboxJob }>;
  /** Stop before this job (told by a `cancel`). */
  stopAt: number;
}
const batches: Batch[] = [];
let running = false;
const between = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runBatches(): Promise<void> {
  if (running) return;
  running = true;
  await loaded;
  for (let batch = batches[0]; batch; batches.shift(), batch = batches[0]) {
    const configurations = new Map<string, unknown>();
    for (const { job } of batch.jobs)
      if (job.key !== undefined && job.configuration !== undefined)
        configurations.set(job.key, job.configuration);
    for (let index = 0; index < batch.jobs.length; index++) {
      // A cancel sent meanwhile is read before the next job starts.
      if (index > 0) await between();
      if (index >= batch.stopAt) {
        send({ seq: batch.seq, end: index });
        break;
      }
      let outcome: SandboxOutcome;
      try {
        outcome = await run(batch.jobs[index]!.job, configurations);
      } catch (err) {
        outcome = { kind: 'error', message: (err as Error)?.message ?? String(err) };
      }
      send({ seq: batch.seq, index, outcome });
    }
  }
  running = false;
}

process.on('message', (message: { seq: number; jobs: Batch['jobs'] } | { cancel: number; from: number }) => {
  if ('cancel' in message) {
    const batch = batches.find((b) => b.seq === message.cancel);
    if (batch) batch.stopAt = Math.min(batch.stopAt, message.from);
    return;
  }
  batches.push({ seq: message.seq, jobs: message.jobs, stopAt: message.jobs.length });
  void runBatches();
});
// Ready once the validator is loaded where jobs validate (as when it was imported statically).
await loaded;
send({ ready: true });
