import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times. */
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, ms) of each process so far; processes that are gone are left out. */
export function cpuTimes(pids: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    try {
      // Fields after the command (which may hold spaces) start after the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
    } catch {
      // exited meanwhile
    }
  }
  const self = process.cpuUsage();
  out['bench (load and watcher)'] = (self.user + self.system) / 1000;
  return out;
}

/** CPU milliseconds per unit of work, by process, between two readings (processes in both only). */
export function cpuPer(
  before: Record<string, number>,
  after: Record<string, number>,
  units: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [name, ms] of Object.entries(after)) {
    if (before[name] === undefined || units <= 0) continue;
    const per = (ms - before[name]!) / units;
    out[name] = Math.round(per * 1000) / 1000;
    total += per;
  }
  out.total = Math.round(total * 1000) / 1000;
  return out;
}

/** The hub's own services (every instance), as `ManagedStack.processes()` names them (`mapper#0`). */
export const SERVICES = ['ingest-gateway', 'mapper', 'entity-writer', 'config-service', 'edge'] as const;

/**
 * The hub services' own CPU per unit (gateway + mapper + writer + config-service + edge, every
 * instance) out of a `cpuPer` result, and what it leaves out (Kafka, the database, the bench itself).
 * NaN when no service was measured.
 */
export function servicesCpu(perUnit: Record<string, number>): {
  services: number;
  byService: Record<string, number>;
} {
  const byService: Record<string, number> = {};
  for (const [name, ms] of Object.entries(perUnit)) {
    const service = SERVICES.find((s) => name.startsWith(`${s}#`));
    if (service) byService[service] = (byService[service] ?? 0) + ms;
  }
  const values = Object.values(byService);
  return {
    services: values.length === 0 ? Number.NaN : values.reduce((s, ms) => s + ms, 0),
    byService,
  };
}

/** The rate `cores` could sustain if each unit cost `msPerUnit` of CPU and nothing else ran: cores × 1,000 / ms. */
export const cpuLimit = (cores: number, msPerUnit: number): number =>
  msPerUnit > 0 && Number.isFinite(msPerUnit) ? (cores * 1000) / msPerUnit : Number.NaN;
