import { describe, expect, it } from 'vitest';
import { OrgBudget, Quarantine } from './fairness.js';

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
