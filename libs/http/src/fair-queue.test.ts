import { describe, expect, it, vi } from 'vitest';
import { ApiError } from './errors.js';
import { FairQueue } from './fair-queue.js';

/** Operations that run until released, recording when they start. */
function held() {
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const op = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      releases.set(name, () => resolve(name));
    });
  const release = async (name: string) => {
    releases.get(name)?.();
    // Let the queue see the end and start what is next.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { started, op, release, settle };
}

/** Aggregations one at a time per organisation, within a budget of 1 s of running time per 10 s. */
const aggregationsOf1sPer10s = () =>
  new FairQueue({
    what: 'aggregations',
    runningPerKey: 1,
    runningTotal: 4,
    queuedPerKey: 8,
    budget: { ms: 1_000, windowMs: 10_000 },
  });

describe('FairQueue', () => {
  it("starts another organisation's operation at once while one organisation's slow ones run and wait", async () => {
    const q = new FairQueue({ what: 'aggregations', runningPerKey: 1, runningTotal: 2, queuedPerKey: 8 });
    const h = held();
    const a = ['a1', 'a2', 'a3', 'a4'].map((n) => q.run('org-a', h.op(n)));
    await h.settle();
    expect(h.started).toEqual(['a1']);
    expect(q.waiting('org-a')).toBe(3);
    const b = q.run('org-b', h.op('b1'));
    await h.settle();
    expect(h.started).toEqual(['a1', 'b1']);
    await h.release('b1');
    expect(await b).toBe('b1');
    // org-a's own queue moves one at a time.
    expect(h.started).toEqual(['a1', 'b1']);
    await h.release('a1');
    expect(h.started).toEqual(['a1', 'b1', 'a2']);
    for (const n of ['a2', 'a3', 'a4']) await h.release(n);
    expect(await Promise.all(a)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(q.running('org-a')).toBe(0);
  });

  it('serves waiting organisations in turn when the total is reached', async () => {
    const q = new FairQueue({ what: 'aggregations', runningPerKey: 2, runningTotal: 2, queuedPerKey: 8 });
    const h = held();
    for (const n of ['a1', 'a2', 'a3', 'a4']) void q.run('org-a', h.op(n));
    void q.run('org-b', h.op('b1'));
    void q.run('org-c', h.op('c1'));
    await h.settle();
    expect(h.started).toEqual(['a1', 'a2']);
    // The freed slots go to the organisations not served yet, before org-a's next.
    await h.release('a1');
    await h.release('a2');
    expect(h.started).toEqual(['a1', 'a2', 'b1', 'c1']);
    await h.release('b1');
    expect(h.started.at(-1)).toBe('a3');
  });

  it("refuses one more than an organisation's queue with 429, and only that organisation", async () => {
    const q = new FairQueue({
      what: 'monitoring aggregations',
      runningPerKey: 1,
      runningTotal: 4,
      queuedPerKey: 2,
    });
    const h = held();
    for (const n of ['a1', 'a2', 'a3']) void q.run('org-a', h.op(n));
    const refused = await q.run('org-a', h.op('a4')).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({
      statusCode: 429,
      code: 'TOO_MANY_CONCURRENT_REQUESTS',
      message:
        '1 monitoring aggregations of this organisation are running and 2 waiting (at most 1 at once and 2 waiting); retry when one has answered',
    });
    const b = q.run('org-b', h.op('b1'));
    await h.settle();
    expect(h.started).toContain('b1');
    await h.release('b1');
    expect(await b).toBe('b1');
  });

  it("holds an organisation that used its running time until it has paid it back at the budget's rate, not the others", async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const q = aggregationsOf1sPer10s();
      const h = held();
      void q.run('org-a', h.op('a1'));
      void q.run('org-a', h.op('a2'));
      await h.settle();
      vi.setSystemTime(1_500); // a1 ran 1.5 s: past org-a's budget of 1 s per 10 s
      await h.release('a1');
      expect(h.started).toEqual(['a1']);
      expect(q.waiting('org-a')).toBe(1);
      void q.run('org-b', h.op('b1'));
      await h.settle();
      expect(h.started).toEqual(['a1', 'b1']);
      // a1's 1.5 s are paid back at 1 s per 10 s: org-a owes less than its budget 5 s after a1 ended...
      await vi.advanceTimersByTimeAsync(4_900);
      expect(h.started).toEqual(['a1', 'b1']);
      // ...and then a2 starts.
      await vi.advanceTimersByTimeAsync(200);
      expect(h.started).toEqual(['a1', 'b1', 'a2']);
      q.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds an organisation whose one operation ran far past its budget for as long as paying it back takes', async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const q = aggregationsOf1sPer10s();
      const h = held();
      void q.run('org-a', h.op('a1'));
      void q.run('org-a', h.op('a2'));
      await h.settle();
      vi.setSystemTime(5_000); // a1, a scan stopped at 5 s: five times org-a's budget of 1 s per 10 s
      await h.release('a1');
      // 4 s over the budget, paid back at 1 s per 10 s: 40 s (a window after its end would be 10 s).
      await vi.advanceTimersByTimeAsync(39_900);
      expect(h.started).toEqual(['a1']);
      await vi.advanceTimersByTimeAsync(200);
      expect(h.started).toEqual(['a1', 'a2']);
      q.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers an operation that waited its longest 429 with Retry-After: naming the budget when the organisation is past it', async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const q = new FairQueue({
        what: 'simulations',
        runningPerKey: 1,
        runningTotal: 2,
        queuedPerKey: 8,
        budget: { ms: 1_000, windowMs: 60_000 },
        maxWaitMs: 5_000,
        budgetCode: 'SIMULATION_BUDGET_EXCEEDED',
      });
      const h = held();
      void q.run('org-a', h.op('a1'));
      await h.settle();
      vi.setSystemTime(2_000); // a1 ran 2 s: past org-a's budget of 1 s per minute
      await h.release('a1');
      const a2 = q.run('org-a', h.op('a2')).catch((err: unknown) => err);
      // Another organisation is served meanwhile.
      const b1 = q.run('org-b', h.op('b1'));
      await h.settle();
      expect(h.started).toEqual(['a1', 'b1']);
      await h.release('b1');
      expect(await b1).toBe('b1');
      await vi.advanceTimersByTimeAsync(5_000);
      const refused = await a2;
      expect(refused).toBeInstanceOf(ApiError);
      expect(refused).toMatchObject({
        statusCode: 429,
        code: 'SIMULATION_BUDGET_EXCEEDED',
        // a1's 2 s are paid back at 1 s per minute: 5 s later, 1,917 ms are owed; under 1,000 in 55 s.
        headers: { 'retry-after': '55' },
        message:
          "this organisation's simulations used 1917 ms of running time not paid back yet, over its budget of 1000 ms per 60 s (paid back at that rate); this one waited 5000 ms and was not started: retry after 55 s",
      });
      expect(h.started).toEqual(['a1', 'b1']);
      expect(q.waiting('org-a')).toBe(0);
      q.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it("answers an operation that waited its longest behind its organisation's running ones 429 TOO_MANY_CONCURRENT_REQUESTS", async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const q = new FairQueue({
        what: 'simulations',
        runningPerKey: 1,
        runningTotal: 2,
        queuedPerKey: 8,
        maxWaitMs: 5_000,
      });
      const h = held();
      void q.run('org-a', h.op('a1'));
      const a2 = q.run('org-a', h.op('a2')).catch((err: unknown) => err);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(await a2).toMatchObject({
        statusCode: 429,
        code: 'TOO_MANY_CONCURRENT_REQUESTS',
        headers: { 'retry-after': '1' },
      });
      // The one that went on waiting is not started later.
      await h.release('a1');
      expect(h.started).toEqual(['a1']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('frees the slot when the operation fails', async () => {
    const q = new FairQueue({ what: 'queries', runningPerKey: 1, runningTotal: 1, queuedPerKey: 1 });
    await expect(q.run('org', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await q.run('org', async () => 'again')).toBe('again');
  });
});
