import { describe, expect, it } from 'vitest';
import { OrgBudget, OrgGate, Quarantine } from './fairness.js';

describe('the budget of worker time per organisation', () => {
  it('counts worker time over the window and forgets it as the window moves on', () => {
    let now = 1_000_000;
    const budget = new OrgBudget({ budgetMs: 10_000, windowMs: 60_000 }, () => now);
    budget.charge('a', 6_000);
    now += 20_000;
    budget.charge('a', 5_000);
    budget.charge('b', 1_000);
    expect(budget.used('a')).toBe(11_000);
    expect(budget.over('a')).toBe(true);
    expect(budget.over('b')).toBe(false);
    now += 45_000; // the first charge is out of the window, the second still in
    expect(budget.used('a')).toBe(5_000);
    expect(budget.over('a')).toBe(false);
    now += 60_000;
    expect(budget.used('a')).toBe(0);
  });
});

describe('the gate per organisation', () => {
  it('lets an organisation have only its share at once, in order, and others pass meanwhile', async () => {
    const gate = new OrgGate(2);
    const order: string[] = [];
    const a1 = await gate.acquire('a');
    const a2 = await gate.acquire('a');
    const a3 = gate.acquire('a').then((release) => {
      order.push('a3');
      return release;
    });
    const b1 = await gate.acquire('b'); // another organisation is not held behind a
    order.push('b1');
    await Promise.resolve();
    expect(order).toEqual(['b1']);
    a1();
    a1(); // twice is once
    (await a3)();
    expect(order).toEqual(['b1', 'a3']);
    a2();
    b1();
    const again = await gate.acquire('a'); // nothing left waiting: the slot is free again
    again();
  });
});

describe('whether an organisation is held up at the gate (decision 20)', () => {
  it('is when every slot is taken, each for the given time; the slot passed on counts afresh', async () => {
    let clock = 0;
    const gate = new OrgGate(2, () => clock);
    const a1 = await gate.acquire('a');
    expect(gate.blocked('a', 100)).toBe(false); // a slot is free
    clock = 50;
    const a2 = await gate.acquire('a');
    expect(gate.blocked('a', 100)).toBe(false); // both taken, not both for long
    clock = 150;
    expect(gate.blocked('a', 100)).toBe(true);
    expect(gate.blocked('b', 100)).toBe(false); // another organisation is not
    const a3 = gate.acquire('a');
    a1(); // the slot passes to a3 at once: a fourth does not slip in before it
    const a4 = gate.acquire('a');
    let fourth = false;
    void a4.then(() => {
      fourth = true;
    });
    await a3;
    await new Promise((resolve) => setImmediate(resolve));
    expect(fourth).toBe(false);
    expect(gate.blocked('a', 100)).toBe(false); // a3 holds its slot since 150
    clock = 250;
    expect(gate.blocked('a', 100)).toBe(true);
    a2();
    (await a4)();
    (await a3)();
  });
});

describe('the gate of a sandbox of several workers', () => {
  it('lets one organisation hold all workers but one, so another finds a worker free', async () => {
    const gate = OrgGate.forWorkers(2);
    const a1 = await gate.acquire('a');
    let a2: (() => void) | undefined;
    const waiting = gate.acquire('a').then((release) => {
      a2 = release;
    });
    const b1 = await gate.acquire('b'); // the other worker is another organisation's to take
    await new Promise((resolve) => setImmediate(resolve));
    expect(a2).toBeUndefined(); // a's second mapping waits for its first, not for a free worker
    a1();
    await waiting;
    expect(a2).toBeDefined();
    a2!();
    b1();
    expect(OrgGate.forWorkers(1).capacity).toBe(1); // a single worker is still everyone's, in turn
    expect(OrgGate.forWorkers(4).capacity).toBe(3);
  });
});

describe('the quarantine of a use case', () => {
  it('quarantines a revision whose events hit the budget often enough in the window; a new revision starts afresh', () => {
    let now = 0;
    const q = new Quarantine({ after: 3, windowMs: 60_000 }, () => now);
    const uc = { orgId: 'org', integrationId: 'i', useCaseId: 'uc', revision: 1 };
    expect(q.hit(uc, 'deadline')).toBe(false);
    now += 61_000; // the first hit is out of the window
    expect(q.hit(uc, 'deadline')).toBe(false);
    expect(q.hit(uc, 'deadline')).toBe(false);
    expect(q.has('uc', 1)).toBe(false);
    expect(q.hit(uc, 'deadline')).toBe(true);
    expect(q.has('uc', 1)).toBe(true);
    expect(q.list()).toEqual([expect.objectContaining({ orgId: 'org', useCaseId: 'uc', revision: 1 })]);
    expect(q.get('uc', 1)?.reason).toMatch(
      /3 events of this configuration \(revision 1\).*deadline.*change the use case's configuration/,
    );
    expect(q.has('uc', 2)).toBe(false);
    q.seen('uc', 2);
    expect(q.size).toBe(0);
  });

  it('takes the quarantines other instances decided, keeps a newer revision, and releases on a tombstone', () => {
    const q = new Quarantine({ after: 3, windowMs: 60_000 });
    const entry = { orgId: 'org', integrationId: 'i', useCaseId: 'uc', revision: 2, since: 't', reason: 'r' };
    q.restore(entry);
    expect(q.has('uc', 2)).toBe(true); // parked at once, without three hits of its own
    q.restore({ ...entry, revision: 1 });
    expect(q.has('uc', 2)).toBe(true);
    q.release('uc', 1); // an older revision's release leaves the newer one
    expect(q.has('uc', 2)).toBe(true);
    q.release('uc', 2);
    expect(q.has('uc', 2)).toBe(false);
  });
});
