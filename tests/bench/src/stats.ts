/** Nearest-rank percentile (`q` in 0..1) of values sorted ascending; NaN when there are none. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** p50/p95/p99/max of a sample of latencies (any order). */
export function summarise(latencies: Iterable<number>): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? Number.NaN,
  };
}

/** `count` per second over `ms`; NaN when no time passed. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

/** A counter read at a moment (a service's `/metrics`). */
export interface Sample {
  at: number;
  value: number;
}

/**
 * The work a counter did to reach `target` and the time it took, from the last sample before it first
 * moved (start-up and consumer-group join excluded) to the first sample at or above `target`. Undefined
 * until the target is reached.
 */
export function progressWindow(
  samples: readonly Sample[],
  target: number,
): { count: number; ms: number } | undefined {
  const first = samples[0];
  if (!first) return undefined;
  const done = samples.findIndex((s) => s.value >= target);
  if (done < 0) return undefined;
  const moved = samples.findIndex((s) => s.value > first.value);
  const idle = samples[Math.max(0, moved - 1)]!;
  return { count: samples[done]!.value - idle.value, ms: samples[done]!.at - idle.at };
}
