/** An open-loop schedule: requests of `batch` events sent at fixed intervals, whatever the answers do. */
export interface PacedPlan {
  intervalMs: number;
  requests: number;
}

/** The schedule that offers `eventsPerSecond` in requests of `batch` for `durationMs` (one request at least). */
export function pacedPlan(eventsPerSecond: number, batch: number, durationMs: number): PacedPlan {
  if (!(eventsPerSecond > 0)) throw new Error(`cannot pace at ${eventsPerSecond} events/s`);
  const intervalMs = (batch / eventsPerSecond) * 1000;
  return { intervalMs, requests: Math.max(1, Math.floor(durationMs / intervalMs)) };
}

/** When request `i` (from 0) of the plan is due. */
export function dueAt(startedAt: number, plan: PacedPlan, i: number): number {
  return startedAt + i * plan.intervalMs;
}
