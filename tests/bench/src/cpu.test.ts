import { describe, expect, it } from 'vitest';
import { cpuPer, cpuTimes } from './cpu.js';

describe('CPU accounting', () => {
  it('reads this process and divides what each process used by the work done', () => {
    const now = cpuTimes({ self: process.pid, gone: 2 ** 22 + 12345 });
    expect(now.self).toBeGreaterThan(0);
    expect(now.gone).toBeUndefined();
    expect(cpuPer({ a: 100, b: 50, c: 1 }, { a: 300, b: 50, d: 9 }, 100)).toEqual({ a: 2, b: 0, total: 2 });
  });
});
