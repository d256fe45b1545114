import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { autogroupOf } from './priority.js';
import { type LaneState, laneFor, MappingSandbox } from './sandbox.js';
import { MappingBudgetError, simulateInSandbox } from './simulate.js';

const limits = { timeoutMs: 100, maxDepth: 500 };
const contact = (expression: string) => ({
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'id' },
        { attribute: 'note', jsonataExpression: expression },
      ],
    },
  ],
});
const noteOf = (outcome: Awaited<ReturnType<MappingSandbox['run']>>) =>
  outcome.kind === 'result' ? outcome.result.entity_updates[0]?.attributes.note : outcome;

// Each worker is a process of its own: starting one takes seconds on a loaded machine.
describe('the mapping sandbox', { timeout: 60_000 }, () => {
  const sandbox = new MappingSandbox({ limits, deadlineMs: 1_500, memoryMb: 64, workers: 1 });
  afterAll(() => sandbox.close());

  it('maps with the compiled mapping of a use-case revision, sent to the worker once', async () => {
    const job = (id: string) => ({
      key: 'uc-1@1',
      configuration: contact('$uppercase(name)'),
      format: 'json' as const,
      payload: JSON.stringify({ id, name: 'ada' }),
    });
    expect(noteOf(await sandbox.run(job('1')))).toBe('ADA');
    // The worker keeps the mapping: a job without the configuration still maps.
    expect(noteOf(await sandbox.run({ ...job('2'), configuration: undefined }))).toBe('ADA');
    const xml = await sandbox.run({ ...job('3'), format: 'xml', payload: '<a><b>' });
    expect(xml.kind).toBe('payload');
  });

  it('stops a catastrophic regular expression at the hard deadline, and the next job runs', async () => {
    const started = sandbox.started;
    const evil = await sandbox.run({
      key: 'uc-evil@1',
      configuration: contact('$match(text, /(a+)+$/)'),
      format: 'json',
      payload: JSON.stringify({ id: '1', text: `${'a'.repeat(40)}!` }),
    });
    expect(evil).toMatchObject({
      kind: 'budget',
      message: expect.stringContaining('hard deadline of 1500 ms'),
    });
    const next = await sandbox.run({
      key: 'uc-1@1',
      configuration: contact('$uppercase(name)'),
      format: 'json',
      payload: JSON.stringify({ id: '4', name: 'grace' }),
    });
    expect(noteOf(next)).toBe('GRACE'); // a new worker, sent the configuration again
    expect(sandbox.started).toBe(started + 1);
  });

  it('stops an expression that would use gigabytes at the heap cap, and the process lives on', async () => {
    // jsonata's own time budget and the hard deadline set far away, so only the heap cap can stop it: with
    // 100 ms, Node 26 reached the time budget before 64 MB and answered an ordinary mapping failure.
    const roomy = new MappingSandbox({
      limits: { ...limits, timeoutMs: 60_000 },
      deadlineMs: 60_000,
      memoryMb: 64,
      workers: 1,
    });
    try {
      const huge = await roomy.run({
        configuration: contact('$count($sort([1..3000000], function($a, $b) { $a < $b }))'),
        format: 'json',
        payload: JSON.stringify({ id: '1' }),
      });
      expect(huge.kind).toBe('budget');
      // The memory cap stopped it (no deadline was near enough to rescue a broken cap).
      expect((huge as { message: string }).message).toMatch(/64 MB of memory/);
      // And the sandbox lives on: the next job runs in a new worker.
      const next = await roomy.run({
        configuration: contact('$uppercase(name)'),
        format: 'json',
        payload: JSON.stringify({ id: '2', name: 'ada' }),
      });
      expect(noteOf(next)).toBe('ADA');
    } finally {
      await roomy.close();
    }
  }, 120_000);

  it('survives an allocation that makes V8 abort its process: only the worker process dies (issue 19)', async () => {
    // In a worker thread, joining two strings of 200 MB under a 256 MB heap cap aborted the whole process
    // (FatalProcessOutOfMemory, not ERR_WORKER_OUT_OF_MEMORY): this test process would die here.
    const big = new MappingSandbox({
      limits: { timeoutMs: 10_000, maxDepth: 500 },
      deadlineMs: 20_000,
      memoryMb: 256,
      workers: 1,
    });
    try {
      const hostile = await big.run({
        configuration: contact('$length($pad("x", 200000000) & $pad("y", 200000000))'),
        format: 'json',
        payload: JSON.stringify({ id: '1' }),
      });
      expect(hostile).toMatchObject({ kind: 'budget', message: expect.stringMatching(/256 MB of memory/) });
      const next = await big.run({
        configuration: contact('$uppercase(name)'),
        format: 'json',
        payload: JSON.stringify({ id: '2', name: 'ada' }),
      });
      expect(noteOf(next)).toBe('ADA');
    } finally {
      await big.close();
    }
  }, 60_000);

  it('runs simulations with their validation problems at their paths', async () => {
    await expect(
      simulateInSandbox(sandbox, { entities: [{ entity_schema: 'contact', fields: [] }] }, { id: '1' }),
    ).rejects.toMatchObject({
      problems: [expect.objectContaining({ path: expect.stringContaining('unique_ids') })],
    });
    const ok = await simulateInSandbox(sandbox, contact('"x"'), { id: '7' });
    expect(ok.response.entity_updates[0]?.unique_identifiers).toEqual({ customer_number: '7' });
  });

  it('takes each tenant’s jobs in turn: one tenant’s backlog neither delays nor refuses another’s', async () => {
    const shared = new MappingSandbox({
      limits,
      deadlineMs: 300,
      memoryMb: 64,
      workers: 1,
      maxQueuedPerTenant: 3,
    });
    try {
      const finished: string[] = [];
      const slow = (tenant: string, name: string) =>
        shared
          .run({
            tenant,
            configuration: contact('$match(text, /(a+)+$/)'),
            format: 'json',
            payload: { id: name, text: `${'a'.repeat(40)}!` },
          })
          .then((outcome) => {
            finished.push(name);
            return outcome.kind;
          });
      // The noisy tenant: one job running, three waiting (its limit), and a fifth refused at once.
      const noisy = [slow('noisy', 'n1'), slow('noisy', 'n2'), slow('noisy', 'n3'), slow('noisy', 'n4')];
      expect(await slow('noisy', 'n5')).toBe('busy');
      // Another tenant is neither refused nor queued behind the noisy tenant's backlog.
      const quiet = shared
        .run({ tenant: 'quiet', configuration: contact('"x"'), format: 'json', payload: { id: 'q' } })
        .then((outcome) => {
          finished.push('q');
          return outcome.kind;
        });
      expect(await quiet).toBe('result');
      expect(await Promise.all(noisy)).toEqual(['budget', 'budget', 'budget', 'budget']);
      expect(finished.slice(0, 3)).toEqual(['n5', 'n1', 'q']);
    } finally {
      await shared.close();
    }
  }, 60_000);

  it('starts another tenant’s job at once while one tenant’s slow jobs run and wait (maxRunningPerTenant)', async () => {
    const shared = new MappingSandbox({
      limits,
      deadlineMs: 5_000,
      memoryMb: 64,
      workers: 2,
      prestart: true,
      maxRunningPerTenant: 1,
    });
    try {
      const finished: string[] = [];
      const job = (tenant: string, name: string, expression: string) =>
        shared
          .run({
            tenant,
            configuration: contact(expression),
            format: 'json',
            payload: { id: name, text: `${'a'.repeat(40)}!` },
          })
          .then((outcome) => {
            finished.push(name);
            return outcome.kind;
          });
      const slow = '$match(text, /(a+)+$/)';
      // Two slow jobs of the noisy tenant: one runs (to the deadline), the other waits for it, so one
      // worker stays free; the quiet tenant's job takes it and is done before the noisy one's first.
      const noisy = [job('noisy', 'n1', slow), job('noisy', 'n2', slow)];
      expect(await job('quiet', 'q', '"x"')).toBe('result');
      expect(finished).toEqual(['q']);
      expect(await Promise.all(noisy)).toEqual(['budget', 'budget']);
      expect(finished).toEqual(['q', 'n1', 'n2']);
    } finally {
      await shared.close();
    }
  }, 60_000);

  it('serves a throttled tenant (over its budget) only when no other tenant waits, and meters worker time', async () => {
    const usage = new Map<string, number>();
    const throttled = new MappingSandbox({
      limits,
      deadlineMs: 300,
      memoryMb: 64,
      workers: 1,
      isThrottled: (tenant) => tenant === 'noisy',
      onUsage: (tenant, ms) => usage.set(tenant, (usage.get(tenant) ?? 0) + ms),
    });
    try {
      const finished: string[] = [];
      const job = (tenant: string, name: string, expression: string) =>
        throttled
          .run({
            tenant,
            configuration: contact(expression),
            format: 'json',
            payload: { id: name, text: `${'a'.repeat(40)}!` },
          })
          .then((outcome) => {
            finished.push(name);
            return outcome.kind;
          });
      const slow = '$match(text, /(a+)+$/)';
      // The noisy tenant's jobs come first, but only its running one goes before the quiet tenant's.
      const all = [job('noisy', 'n1', slow), job('noisy', 'n2', slow), job('noisy', 'n3', slow)];
      all.push(job('quiet', 'q1', '"x"'), job('quiet', 'q2', '"x"'));
      await Promise.all(all);
      expect(finished).toEqual(['n1', 'q1', 'q2', 'n2', 'n3']);
      expect(usage.get('noisy')).toBeGreaterThanOrEqual(3 * 300);
      expect(usage.get('quiet')).toBeGreaterThan(0);
    } finally {
      await throttled.close();
    }
  }, 60_000);

  it('answers busy at once when too many jobs of one tenant wait', async () => {
    const small = new MappingSandbox({ limits, deadlineMs: 1_000, memoryMb: 64, maxQueuedPerTenant: 1 });
    try {
      const slow = {
        configuration: contact('$match(text, /(a+)+$/)'),
        format: 'json' as const,
        payload: { id: '1', text: `${'a'.repeat(40)}!` },
      };
      const first = small.run(slow);
      const second = small.run(slow);
      await expect(simulateInSandbox(small, contact('"x"'), { id: '1' })).rejects.toBeInstanceOf(
        MappingBudgetError,
      );
      expect((await first).kind).toBe('budget');
      expect((await second).kind).toBe('budget');
    } finally {
      await small.close();
    }
  }, 30_000);
});

// The heap cap on its own: a deadline and an expression budget far beyond what the job takes, so only
// the cap can stop it (the test above accepts the hard deadline too, which would rescue a broken cap).
describe('the mapping sandbox’s priority', { timeout: 60_000 }, () => {
  it('lowers the priority of a worker whose job runs long, and the next job gets a worker at the service’s', async () => {
    const own = getPriority();
    const sandbox = new MappingSandbox({
      limits,
      deadlineMs: 20_000,
      memoryMb: 64,
      workers: 1,
      niceness: 7,
      niceAfterMs: 100,
      prestart: true,
    });
    try {
      const quick = {
        key: 'uc-1@1',
        configuration: contact('$uppercase(name)'),
        format: 'json' as const,
        payload: JSON.stringify({ id: '1', name: 'ada' }),
      };
      expect(noteOf(await sandbox.run(quick))).toBe('ADA');
      const [pid] = sandbox.workerPids;
      expect(getPriority(pid!)).toBe(own); // a quick job runs at the service's priority
      // A catastrophic expression (about 2^22 steps: a second or more) runs long: its worker is lowered meanwhile.
      const slow = sandbox.run({
        key: 'uc-slow@1',
        configuration: contact('$match(text, /(a+)+$/)'),
        format: 'json',
        payload: JSON.stringify({ id: '2', text: `${'a'.repeat(22)}!` }),
      });
      let lowered = false;
      let done = false;
      void slow.then(() => {
        done = true;
      });
      while (!done && !lowered) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        lowered = getPriority(pid!) === Math.min(19, own + 7);
      }
      expect(lowered).toBe(true);
      // Where the kernel groups sessions (autogroups), the worker has a group of its own and the group is
      // lowered too: else it would keep its group's share against the broker and the database.
      const group = autogroupOf('self');
      if (group) {
        expect(autogroupOf(pid!)?.name).not.toBe(group.name);
        expect(autogroupOf(pid!)?.nice).toBe(Math.min(19, group.nice + 7));
      }
      expect((await slow).kind).toBe('result');
      // Its worker is replaced: the next job runs at the service's priority again.
      expect(noteOf(await sandbox.run(quick))).toBe('ADA');
      const [replacement] = sandbox.workerPids;
      expect(replacement).not.toBe(pid);
      expect(getPriority(replacement!)).toBe(own);
      if (group) expect(autogroupOf(replacement!)?.nice).toBe(group.nice);
    } finally {
      await sandbox.close();
    }
  });
});

describe('the mapping sandbox’s start priority', { timeout: 60_000 }, () => {
  it('starts every worker below the service’s priority (startNiceness), replacements too', async () => {
    const own = getPriority();
    const sandbox = new MappingSandbox({
      limits,
      deadlineMs: 500,
      memoryMb: 64,
      workers: 2,
      startNiceness: 5,
      niceness: 5,
      prestart: true,
    });
    try {
      const pids = sandbox.workerPids;
      expect(pids).toHaveLength(2);
      const group = autogroupOf('self');
      for (const pid of pids) {
        expect(getPriority(pid)).toBe(Math.min(19, own + 5));
        if (group) {
          expect(autogroupOf(pid)?.name).not.toBe(group.name);
          expect(autogroupOf(pid)?.nice).toBe(Math.min(19, group.nice + 5));
        }
      }
      // A job stopped at its deadline: its worker's replacement starts low too.
      const stopped = await sandbox.run({
        configuration: contact('$match(text, /(a+)+$/)'),
        format: 'json',
        payload: { id: '1', text: `${'a'.repeat(40)}!` },
      });
      expect(stopped.kind).toBe('budget');
      const replacement = sandbox.workerPids.find((pid) => !pids.includes(pid));
      expect(replacement).toBeDefined();
      expect(getPriority(replacement!)).toBe(Math.min(19, own + 5));
    } finally {
      await sandbox.close();
    }
  });
});

describe.runIf(process.platform === 'linux')('the mapping sandbox’s workers', { timeout: 90_000 }, () => {
  it('end with their service when it is killed while a job never yields', async () => {
    // A service (this script) whose worker runs an expression of about 2^40 steps (hours), then SIGKILL:
    // no close, no SIGINT to the worker's session, and the worker's own thread is busy.
    const script = `
      const { MappingSandbox } = await import(${JSON.stringify(new URL('./sandbox.ts', import.meta.url).href)});
      const sandbox = new MappingSandbox({ limits: { timeoutMs: 100, maxDepth: 500 }, deadlineMs: 600000, memoryMb: 64, workers: 1, prestart: true });
      void sandbox.run({ configuration: ${JSON.stringify(contact('$match(text, /(a+)+$/)'))}, format: 'json', payload: { id: '1', text: '${'a'.repeat(40)}!' } });
      setTimeout(() => console.log(JSON.stringify(sandbox.workerPids)), 100);
      setInterval(() => {}, 1000);
    `;
    const service = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [pid] = await new Promise<number[]>((resolve, reject) => {
      service.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as number[]));
      service.once('exit', (code) => reject(new Error(`the service exited (${code}) before its worker ran`)));
    });
    expect(pid).toBeDefined();
    const stat = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const cpuMs = () => (Number(stat()[11]) + Number(stat()[12])) * 10; // ticks of 10 ms
    const alive = () => {
      try {
        return stat()[0] !== 'Z';
      } catch {
        return false;
      }
    };
    // Killed only once the worker is in the job: running, its CPU time up by 2 s in at most 3 s.
    let last = cpuMs();
    let grown = 0;
    const busyBy = Date.now() + 60_000;
    while (grown < 2_000 && Date.now() < busyBy) {
      await new Promise((r) => setTimeout(r, 250));
      const now = cpuMs();
      grown = now - last > 100 ? grown + (now - last) : 0; // counts only while it keeps running
      last = now;
    }
    expect(grown).toBeGreaterThanOrEqual(2_000);
    service.kill('SIGKILL');
    const until = Date.now() + 10_000;
    while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const left = alive();
    if (left) process.kill(pid!, 'SIGKILL'); // not left spinning when the test fails
    expect(left).toBe(false);
  });
});

describe('the mapping sandbox’s heap cap', () => {
  it('stops a job that needs more than its memory, naming the cap, where nothing else would stop it', async () => {
    const capped = new MappingSandbox({
      limits: { timeoutMs: 120_000, maxDepth: 500 },
      deadlineMs: 120_000,
      memoryMb: 64,
      workers: 1,
    });
    try {
      const huge = await capped.run({
        // A native sort of three million numbers: jsonata never checks its budget inside it. Without the
        // cap (resourceLimits removed) it ran on until the 120 s deadline stopped it: this test failed.
        configuration: contact('$count($sort([1..3000000]))'),
        format: 'json',
        payload: JSON.stringify({ id: '1' }),
      });
      expect(huge).toMatchObject({ kind: 'budget', message: expect.stringMatching(/64 MB of memory/) });
    } finally {
      await capped.close();
    }
  }, 150_000);
});

describe('which worker a job goes to (ADR 0015, decision 21)', () => {
  const lane = (name: string, state: Partial<LaneState>) => ({
    name,
    warm: false,
    starting: false,
    lastTenant: undefined,
    stoppedFor: undefined,
    ...state,
  });
  const pick = (idle: ReturnType<typeof lane>[], tenant: string) => laneFor(idle, tenant)?.name;

  it('is never another tenant’s replacement still starting: the job waits for a worker that is up', () => {
    // The noisy tenant's two jobs were stopped at their deadline: both workers are starting again.
    const a = lane('a', { starting: true, lastTenant: 'noisy', stoppedFor: 'noisy' });
    const b = lane('b', { starting: true, lastTenant: 'noisy', stoppedFor: 'noisy' });
    // The quiet tenant's second job while its first runs on the third worker: it waits (for that worker
    // to be free, a few milliseconds, or for a replacement to be up, whichever comes first).
    expect(pick([a, b], 'quiet')).toBeUndefined();
    expect(pick([a, b], 'noisy')).toBeUndefined(); // nothing up: the first one up takes the next in turn
    // The noisy tenant's next job takes its own replacement and leaves the workers that are up.
    const c = lane('c', { warm: true, lastTenant: 'quiet' });
    expect(pick([a, b, c], 'noisy')).toBe('a');
    expect(pick([a, b, c], 'quiet')).toBe('c');
  });

  it('prefers the worker that served the tenant last, then any that is up', () => {
    const a = lane('a', { warm: true, lastTenant: 'x' });
    const b = lane('b', { warm: true, lastTenant: 'y' });
    expect(pick([a, b], 'y')).toBe('b');
    expect(pick([a, b], 'z')).toBe('a');
  });

  it('starts a worker that is not running when none is starting (a worker stopped for an error)', () => {
    const stopped = lane('s', {});
    expect(pick([stopped], 'x')).toBe('s');
    // A worker whose long job lowered its priority is replaced: its tenant's next job does not wait for
    // the replacement when another worker is up.
    const lowered = lane('l', { starting: true, lastTenant: 'x' });
    const up = lane('u', { warm: true, lastTenant: 'y' });
    expect(pick([lowered, up], 'x')).toBe('u');
    expect(pick([lowered, stopped], 'x')).toBeUndefined();
  });
});
