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
