// Keeps a child process running the way an orchestrator would: an unexpected exit is reported on one
// visible line and the process is started again after a backoff (1 s, 2 s, 5 s, 10 s, then every 30 s;
// back to 1 s once it has stayed up for a minute). A process that never got ready is not restarted: its
// configuration is wrong and a restart loop would hide that.
import { spawn } from 'node:child_process';

export const BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
const STABLE_MS = 60_000;

/**
 * @param {{ name: string, command: string, args: string[], options: import('node:child_process').SpawnOptions,
 *   attach?: (child: import('node:child_process').ChildProcess) => void, log: (line: string) => void,
 *   backoffMs?: number[] }} spec
 */
export function supervise(spec) {
  const backoff = spec.backoffMs ?? BACKOFF_MS;
  let child;
  let stopping = false;
  let ready = false;
  let failures = 0;
  let startedAt = 0;
  let timer;
  const state = { restarts: 0, failedAtStartUp: false };

  const start = () => {
    startedAt = Date.now();
    child = spawn(spec.command, spec.args, spec.options);
    spec.attach?.(child);
    child.on('exit', (code, signal) => {
      child = undefined;
      if (stopping) return;
      if (!ready) {
        state.failedAtStartUp = true;
        spec.log(`${spec.name} exited during start-up (${signal ?? code}); not restarting`);
        return;
      }
      if (Date.now() - startedAt > STABLE_MS) failures = 0;
      const delay = backoff[Math.min(failures, backoff.length - 1)];
      failures++;
      state.restarts++;
      spec.log(
        `${spec.name} exited unexpectedly (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s (restart ${state.restarts})`,
      );
      timer = setTimeout(() => {
        if (!stopping) start();
      }, delay);
    });
  };
  start();

  return {
    state,
    get child() {
      return child;
    },
    get running() {
      return child !== undefined && child.exitCode === null;
    },
    /** The process has been ready once: from now on an exit is a crash to restart. */
    markReady() {
      ready = true;
    },
    /** SIGTERM, then SIGKILL after graceMs; no restart. */
    async stop(graceMs = 20_000) {
      stopping = true;
      clearTimeout(timer);
      const current = child;
      if (!current || current.exitCode !== null) return;
      const exited = new Promise((resolve) => current.once('exit', resolve));
      current.kill('SIGTERM');
      const kill = setTimeout(() => current.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    },
  };
}
