import { describe, expect, it } from 'vitest';
import { percentile, perSecond, progressWindow, summarise } from './stats.js';

describe('percentile', () => {
  it('is the nearest rank of a sorted sample', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.95)).toBe(95);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile(values, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
  });

  it('is NaN for an empty sample', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('summarise', () => {
  it('sorts the latencies itself', () => {
    expect(summarise([30, 10, 20, 40])).toEqual({ count: 4, p50Ms: 20, p95Ms: 40, p99Ms: 40, maxMs: 40 });
  });
});

describe('perSecond', () => {
  it('scales a count over milliseconds and refuses a zero duration', () => {
    expect(perSecond(500, 2_000)).toBe(250);
    expect(perSecond(10, 0)).toBeNaN();
  });
});

describe('progressWindow', () => {
  it('times from the last sample before the counter moved to the first at the target', () => {
    const samples = [
      { at: 0, value: 0 },
      { at: 200, value: 0 },
      { at: 400, value: 30 },
      { at: 600, value: 90 },
      { at: 800, value: 100 },
      { at: 1_000, value: 100 },
    ];
    expect(progressWindow(samples, 100)).toEqual({ count: 100, ms: 600 });
  });

  it('counts from where the counter stood when it was first read', () => {
    const samples = [
      { at: 0, value: 5 },
      { at: 100, value: 50 },
      { at: 200, value: 105 },
    ];
    expect(progressWindow(samples, 105)).toEqual({ count: 100, ms: 200 });
  });

  it('is undefined until the target is reached', () => {
    expect(progressWindow([{ at: 0, value: 3 }], 10)).toBeUndefined();
    expect(progressWindow([], 10)).toBeUndefined();
  });
});
