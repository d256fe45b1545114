import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const fixture = path.join(import.meta.dirname, '../test/crash-fixture.ts');

/** Runs the fixture in its own Node process (through tsx) and returns its exit code and JSON log lines. */
function crash(kind: 'throw' | 'reject') {
  const result = spawnSync(process.execPath, ['--import', 'tsx', fixture, kind], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const lines = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string | number; msg: string; err?: { message: string } });
  return { code: result.status, lines };
}

describe('a service that crashes', () => {
  for (const [kind, message] of [
    ['throw', 'boom from a timer'],
    ['reject', 'boom from a promise'],
  ] as const) {
    it(`(${kind}) writes one fatal line with the error, runs the ordered shutdown, then exits 1`, () => {
      const { code, lines } = crash(kind);
      expect(code).toBe(1);
      const fatal = lines.filter((l) => l.level === 'fatal' || l.level === 60);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]?.err?.message).toBe(message);
      const fatalAt = lines.indexOf(fatal[0]!);
      const step = lines.findIndex((l) => l.msg === 'shutdown step done');
      expect(step).toBeGreaterThan(fatalAt);
    });
  }
});

describe('the ordered shutdown when its log cannot be written', () => {
  it('still ends at its time limit, with exit code 1', async () => {
    const { installShutdown } = await import('./shutdown.js');
    const broken = () => {
      throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    };
    const logger = { info: broken, error: broken, warn: broken, fatal: broken } as never;
    const shutdown = installShutdown(
      logger,
      [
        { name: 'finishes', run: async () => undefined },
        { name: 'hangs', run: () => new Promise(() => undefined) },
      ],
      200,
    );
    await expect(shutdown()).resolves.toBe(1);
  });
});
