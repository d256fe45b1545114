import { readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** A Linux scheduling autogroup (one per session): its name and nice value, from `/proc/<pid>/autogroup`. */
export interface Autogroup {
  name: string;
  nice: number;
}

/** The autogroup of a process, or undefined where there is none (not Linux, or autogroups turned off). */
export function autogroupOf(pid: number | 'self'): Autogroup | undefined {
  try {
    const match = /^(\S+)\s+nice\s+(-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return match ? { name: match[1]!, nice: Number(match[2]) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lowers a worker process's CPU priority to `by` nice steps below this process's (at most Unix's 19).
 *
 * A nice value weighs a process only against the others of its scheduling group. On Linux with autogroups
 * (`kernel.sched_autogroup_enabled`, on by default in most distributions' kernels) each session is such a
 * group, and the groups share the CPU equally whatever their processes' nice values: a worker at nice 19 in
 * its service's session still takes its group's share from the broker and the database, which run in
 * sessions of their own. So the sandbox starts its workers in sessions of their own (`detached`), and this
 * lowers the worker's autogroup too: the whole group then yields to every other process of the machine.
 * Never the service's own group (a worker that is not in a session of its own is left at its nice value),
 * which would lower the service itself. In a container's cgroup the kernel does not apply autogroups: the
 * nice value then does the work among the container's processes.
 */
export function lowerPriority(pid: number, by: number): void {
  setPriority(pid, Math.min(19, getPriority() + by));
  const own = autogroupOf('self');
  const its = autogroupOf(pid);
  if (!own || !its || its.name === own.name) return;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(Math.min(19, own.nice + by)));
  } catch {
    // Gone meanwhile, or a kernel that refuses: the nice value alone applies.
  }
}
