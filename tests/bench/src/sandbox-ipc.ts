// The mapping sandbox's CPU per job, in the service's process and in its workers (issue 22, ADR 0015
// decision 24): the bench's contact mapping, 3 workers, 2 per tenant, as the mapper sets it up.
// Usage (after a build): TENANTS=4 npx tsx tests/bench/src/sandbox-ipc.ts <batchMax> <jobs> <inFlight>
// (batchMax 1: one job per message, as before decision 24).
import { readFileSync } from 'node:fs';
import { MappingSandbox } from '@hub/mapping';

const [max = '1', count = '20000', inFlight = '200'] = process.argv.slice(2);
const configuration = {
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'customerId' },
        { attribute: 'first_name', field: 'firstName' },
        { attribute: 'last_name', field: 'lastName' },
        { attribute: 'email', field: 'email', _type: 'email' },
      ],
    },
  ],
};
const options: Record<string, unknown> = {
  limits: { timeoutMs: 500, maxDepth: 500 },
  deadlineMs: 5_000,
  memoryMb: 256,
  workers: 3,
  prestart: true,
  validation: false,
  maxRunningPerTenant: 2,
};
if (Number(max) > 1) options.batch = { max: Number(max) };
const keepAlive = setInterval(() => {}, 1000);
const sandbox = new MappingSandbox(options as never);
const job = (i: number) => ({
  key: 'uc@1',
  configuration,
  tenant: `org${i % Number(process.env.TENANTS ?? 1)}`,
  format: 'json' as const,
  payload: JSON.stringify({
    customerId: `C${i}`,
    firstName: `John ${i}`,
    lastName: 'Doe',
    email: `c${i}@example.com`,
  }),
});
const ticks = 100;
const cpuOf = (pid: number) => {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / ticks;
};
// Warm up (workers up, mapping compiled in each).
await Promise.all(Array.from({ length: 300 }, (_, i) => sandbox.run(job(i))));
const pids = sandbox.workerPids;
const w0 = pids.map(cpuOf);
const m0 = process.cpuUsage();
const t0 = performance.now();
let next = 0;
const lane = async () => {
  while (next < Number(count)) {
    const i = next++;
    const outcome = await sandbox.run(job(i));
    if (outcome.kind !== 'result') throw new Error(JSON.stringify(outcome));
  }
};
await Promise.all(Array.from({ length: Number(inFlight) }, lane));
const ms = performance.now() - t0;
const m = process.cpuUsage(m0);
const w = sandbox.workerPids.map((pid, i) => (pids[i] === pid ? cpuOf(pid) - w0[i]! : Number.NaN));
const n = Number(count);
console.log(
  `batch.max ${max}: ${n} jobs in ${ms.toFixed(0)} ms (${((n * 1000) / ms).toFixed(0)} jobs/s); main CPU ${(((m.user + m.system) / 1000 / n) * 1000).toFixed(1)} µs/job; workers ${w.map((x) => ((x / n) * 1000).toFixed(1)).join(' + ')} µs/job; posted ${sandbox.posted}`,
);
await sandbox.close();
clearInterval(keepAlive);
