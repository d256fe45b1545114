import { describe, expect, it } from 'vitest';
import { cpuLimit, cpuPer, cpuTimes, servicesCpu } from './cpu.js';

describe('CPU accounting', () => {
  it('reads this process and divides what each process used by the work done', () => {
    const now = cpuTimes({ self: process.pid, gone: 2 ** 22 + 12345 });
    expect(now.self).toBeGreaterThan(0);
    expect(now.gone).toBeUndefined();
    expect(cpuPer({ a: 100, b: 50, c: 1 }, { a: 300, b: 50, d: 9 }, 100)).toEqual({ a: 2, b: 0, total: 2 });
  });

  it("sums the hub services' own CPU (every instance), leaving out Kafka, the database and the bench", () => {
    const perEvent = {
      'kafka-1': 0.5,
      ferretdb: 1.2,
      'ingest-gateway#0': 0.3,
      'mapper#0': 0.2,
      'mapper#1': 0.1,
      'entity-writer#0': 0.25,
      'config-service#0': 0.15,
      'edge#0': 0.1,
      'bench (load and watcher)': 0.4,
      total: 3.2,
    };
    const { services, byService } = servicesCpu(perEvent);
    expect(services).toBeCloseTo(1.1, 10);
    expect(byService).toEqual({
      'ingest-gateway': 0.3,
      mapper: expect.closeTo(0.3, 10),
      'entity-writer': 0.25,
      'config-service': 0.15,
      edge: 0.1,
    });
    expect(servicesCpu({ ferretdb: 1, total: 1 }).services).toBeNaN();
  });

  it('states the limit a CPU cost per event implies: cores × 1,000 / ms', () => {
    expect(cpuLimit(2, 0.5)).toBe(4000);
    expect(cpuLimit(2, 1.1)).toBeCloseTo(1818.18, 1);
    expect(cpuLimit(2, 0)).toBeNaN();
    expect(cpuLimit(2, Number.NaN)).toBeNaN();
  });
});
