import { describe, expect, it } from 'vitest';
import { dueAt, pacedPlan } from './pacing.js';

describe('pacedPlan', () => {
  it('spreads requests of a batch evenly to offer the rate', () => {
    const plan = pacedPlan(500, 100, 10_000);
    expect(plan).toEqual({ intervalMs: 200, requests: 50 });
    expect(dueAt(1_000, plan, 0)).toBe(1_000);
    expect(dueAt(1_000, plan, 3)).toBe(1_600);
  });

  it('sends one request at least when the rate is below one batch per duration', () => {
    expect(pacedPlan(2, 100, 10_000)).toEqual({ intervalMs: 50_000, requests: 1 });
  });

  it('refuses a rate that is not positive', () => {
    expect(() => pacedPlan(0, 100, 1_000)).toThrow(/cannot pace/);
    expect(() => pacedPlan(Number.NaN, 100, 1_000)).toThrow(/cannot pace/);
  });
});
