import { describe, expect, it } from 'vitest';
import { breakdown, type EventStages, handlerBetween } from './stages.js';

describe('breakdown', () => {
  it("splits each event's request → processed time into stages that add up, the writer's from the processed message's timestamp", () => {
    const sentAt = new Map([
      ['a', 1_000],
      ['b', 1_000],
    ]);
    const stages = new Map<string, EventStages>([
      ['a', { partition: 0, acceptedAt: 1_090, mappedAt: 1_200, writtenAt: 1_350 }],
      ['b', { partition: 1, acceptedAt: 1_100, mappedAt: 1_300, writtenAt: 1_400 }],
    ]);
    const arrivals = new Map([
      ['a', 1_360],
      ['b', 1_420],
    ]);
    const split = breakdown(sentAt, arrivals, stages, 1_000);
    expect(split.accepted.maxMs).toBe(100);
    expect(split.mapped.maxMs).toBe(200);
    expect(split.written.maxMs).toBe(160); // a: 1,200 → 1,360
    expect(split.writer.maxMs).toBe(150); // a: 1,200 → 1,350
    expect(split.arrived.maxMs).toBe(20); // b: 1,400 → 1,420
    expect(split.slowest[0]).toEqual({
      sentAtMs: 0,
      partition: 1,
      accepted: 100,
      mapped: 300,
      written: 400,
      processed: 420,
    });
  });

  it('gives the request → processed p99 per second of sending, so a burst shows apart from the rest', () => {
    const sentAt = new Map([
      ['a', 1_000],
      ['b', 1_400],
      ['c', 2_100],
    ]);
    const stages = new Map<string, EventStages>([
      ['a', { partition: 0, acceptedAt: 1_010, mappedAt: 1_020 }],
      ['b', { partition: 0, acceptedAt: 1_410, mappedAt: 1_420 }],
      ['c', { partition: 0, acceptedAt: 2_110, mappedAt: 2_120 }],
    ]);
    const arrivals = new Map([
      ['a', 1_050],
      ['b', 3_400],
      ['c', 2_130],
    ]);
    expect(breakdown(sentAt, arrivals, stages, 1_000).timeline).toEqual([
      { second: 0, events: 2, p99Ms: 2_000, maxMs: 2_000 },
      { second: 1, events: 1, p99Ms: 30, maxMs: 30 },
    ]);
  });

  it('leaves the writer and arrival split empty for events whose processed message was not found', () => {
    const split = breakdown(
      new Map([['a', 0]]),
      new Map([['a', 50]]),
      new Map<string, EventStages>([['a', { partition: 0, acceptedAt: 10, mappedAt: 20 }]]),
      0,
    );
    expect(split.written.count).toBe(1);
    expect(split.writer.count).toBe(0);
    expect(split.slowest[0]).not.toHaveProperty('written');
  });
});

describe('handlerBetween', () => {
  it('gives calls, messages per call and milliseconds per call between two samples', () => {
    expect(
      handlerBetween({ calls: 10, messages: 100, seconds: 1 }, { calls: 30, messages: 500, seconds: 2 }),
    ).toEqual({ calls: 20, messagesPerCall: 20, msPerCall: 50, busyMs: 1000 });
    expect(
      handlerBetween({ calls: 1, messages: 1, seconds: 1 }, { calls: 1, messages: 1, seconds: 1 }).msPerCall,
    ).toBeNaN();
  });
});
