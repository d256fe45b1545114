import { describe, expect, it } from 'vitest';
import { childTrace, formatTraceparent, parseTraceparent } from './trace.js';

describe('traceparent', () => {
  it('round-trips a valid header', () => {
    const header = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const ctx = parseTraceparent(header);
    expect(ctx).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(formatTraceparent(ctx!)).toBe(header);
  });

  it('rejects malformed and all-zero ids', () => {
    expect(parseTraceparent('garbage')).toBeUndefined();
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
  });

  it('keeps the trace id and makes a new span id for a child', () => {
    const parent = parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')!;
    const child = childTrace(parent);
    expect(child.traceId).toBe(parent.traceId);
    expect(child.spanId).not.toBe(parent.spanId);
    expect(childTrace(undefined).traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('gives every span and new trace ids of their own, well formed, across many refills of its pool', () => {
    const spans = new Set<string>();
    const traces = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const root = childTrace(undefined);
      expect(root.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
      spans.add(root.spanId);
      traces.add(root.traceId);
    }
    expect(spans.size).toBe(3000);
    expect(traces.size).toBe(3000);
  });
});
