import { readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** A Linux scheduling autogroup (one per session): its name and nice value, from `/proc/<pid>/autogroup`. */
export interface Autogroup {
  name: string;
  nice: number;
}

/** The autogroup of a process, or undefined where there is none (not Linux, or a kernel without them). */
export function autogroupOf(pid: number | 'self'): Autogroup | undefined {
  try {
    const match = /^(\S+)\s+nice\s+(-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return match ? { name: match[1]!, nice: Number(match[2]) } : undefined;
  } catch {
    return undefined;
  }
}

/** Tries of an autogroup's nice value refused for the kernel's rate limit, 110 ms apart. */
const GROUP_TRIES = 20;

/**
 * Sets a worker process's CPU priority to `by` nice steps below this process's (at most Unix's 19; 0: the
 * same as this process).
 *
 * A nice value weighs a process only against the others of its scheduling group. On Linux with autogroups
 * (`kernel.sched_autogroup_enabled`, on by default in most distributions' kernels) each session is such a
 * group, and the groups share the CPU equally whatever their processes' nice values: a worker at nice 19 in
 * its service's session still takes its group's share from the broker and the database, which run in
 * sessions of their own. So the sandbox starts its workers in sessions of their own (`detached`), and this
 * sets the worker's autogroup too, from this process's group's value: lowered, the whole group yields to
 * every other process of the machine; not lowered, it weighs as the service's own group does. Never the
 * service's own group (a worker that shares it keeps only its nice value), which would lower the service.
 * The kernel takes one such write per 100 ms from an unprivileged process (EAGAIN otherwise): a refused one
 * is tried again. In a container's cgroup the kernel does not apply autogroups: the nice value then does
 * the work among the container's processes.
 */
export function lowerPriority(pid: number, by: number): void {
  if (by > 0) setPriority(pid, Math.min(19, getPriority() + by));
  const own = autogroupOf('self');
  if (own) setGroupNice(pid, own.name, Math.min(19, own.nice + by), GROUP_TRIES);
}

function setGroupNice(pid: number, ownGroup: string, nice: number, tries: number): void {
  const its = autogroupOf(pid);
  if (!its || its.name === ownGroup || its.nice === nice) return;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch (err) {
    // Another write within the kernel's 100 ms: again shortly. Else gone meanwhile, or refused: its nice
    // value alone applies.
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && tries > 1) {
      setTimeout(() => setGroupNice(pid, ownGroup, nice, tries - 1), 110).unref();
    }
  }
}
