import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * CPU time (user + system, ms) of each process with everything it started: its own, its children's
 * that have ended (reaped: a mapping worker stopped at its deadline), and its live descendants' (the
 * mapping workers running now). Between two readings the difference is what the process and its workers
 * used, so a service's sandbox workers count with it.
 */
export function treeCpuTimes(pids: Record<string, number>): Record<string, number> {
  const procs = new Map<number, { ppid: number; own: number; reaped: number }>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return cpuTimes(pids);
  }
  for (const e of entries) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(e), {
        ppid: Number(f[1]),
        own: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS,
        reaped: ((Number(f[13]) + Number(f[14])) * 1000) / TICKS,
      });
    } catch {
      // exited meanwhile
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const tree = (pid: number): number => {
    const p = procs.get(pid);
    if (!p) return 0;
    return p.own + p.reaped + (children.get(pid) ?? []).reduce((s, c) => s + tree(c), 0);
  };
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) if (procs.has(pid)) out[name] = tree(pid);
  const self = process.cpuUsage();
  out['bench (load and watcher)'] = (self.user + self.system) / 1000;
  return out;
}
