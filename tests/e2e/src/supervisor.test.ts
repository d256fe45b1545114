/**
 * Issue 12, item 7: `npm start` (and `npm test`) restart a service that exits unexpectedly, as an
 * orchestrator would, with a backoff and a visible line; one that never got ready is not restarted.
 * Real child processes (node), the supervisor of scripts/lib/services.mjs.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module without types
import { supervise } from '../../../scripts/lib/supervise.mjs';

interface Supervised {
  state: { restarts: number; failedAtStartUp: boolean };
  child?: { pid: number };
  running: boolean;
  markReady(): void;
  stop(graceMs?: number): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const node = (script: string) => ({
  command: process.execPath,
  args: ['-e', script],
  options: { stdio: 'ignore' },
});

describe('the local supervisor', () => {
  it('restarts a crashed service after a growing backoff, saying so on one line each time', async () => {
    const lines: string[] = [];
    const s: Supervised = supervise({
      name: 'crashy',
      ...node('setTimeout(() => process.exit(3), 150)'),
      log: (line: string) => lines.push(line),
      backoffMs: [100, 300],
    });
    s.markReady();
    const pids = new Set<number>();
    const until = Date.now() + 5_000;
    while (s.state.restarts < 3 && Date.now() < until) {
      if (s.child) pids.add(s.child.pid);
      await sleep(20);
    }
    await s.stop();
    expect(s.state.restarts).toBeGreaterThanOrEqual(3);
    expect(pids.size).toBeGreaterThanOrEqual(3);
    expect(lines[0]).toBe('crashy exited unexpectedly (code 3); restarting in 0.1 s (restart 1)');
    expect(lines[1]).toBe('crashy exited unexpectedly (code 3); restarting in 0.3 s (restart 2)');
  });

  it('does not restart a service that exits during start-up, nor one stopped on purpose', async () => {
    const lines: string[] = [];
    const broken: Supervised = supervise({
      name: 'broken',
      ...node('process.exit(1)'),
      log: (l: string) => lines.push(l),
    });
    await sleep(500);
    expect(broken.state).toEqual({ restarts: 0, failedAtStartUp: true });
    expect(lines).toEqual(['broken exited during start-up (1); not restarting']);

    const steady: Supervised = supervise({
      name: 'steady',
      ...node('setInterval(() => {}, 1000)'),
      log: (l: string) => lines.push(l),
    });
    steady.markReady();
    await sleep(200);
    await steady.stop();
    await sleep(300);
    expect(steady.running).toBe(false);
    expect(steady.state.restarts).toBe(0);
  });
});
