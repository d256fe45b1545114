/**
 * A service whose standard output goes away (the log collector or the pipe reading it ended) still stops
 * within its shutdown budget on SIGTERM: a log line it cannot write is lost, never a reason to hang. Seen
 * before the fix: a mapper whose stdout closed between two shutdown steps never exited.
 */
import { killInstances, resolveStack, spawnInstance } from '@hub/testing';
import { afterAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
afterAll(killInstances);

describe('a service that can no longer write its log', () => {
  it('stops on SIGTERM within its shutdown budget', async () => {
    const child = spawnInstance(stack, 'mapper', 24483, { LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '5000' });
    const logged = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" in: ${child.output()}`)), 60_000);
        const check = () => {
          if (!child.output().includes(text)) return;
          clearTimeout(timer);
          child.stdout?.off('data', check);
          resolve();
        };
        child.stdout?.on('data', check);
        check();
      });
    await logged('started; SIGTERM or SIGINT stops it in order');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    // The pipe goes away in the middle of the ordered shutdown: its next lines cannot be written.
    await logged('shutting down');
    child.stdout?.destroy();
    const started = Date.now();
    const code = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    expect(code).not.toBe('still running');
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 90_000);
});
