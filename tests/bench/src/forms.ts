import type { NoisySizes } from './noisy.js';

/** The sizes of one run. `quick` (a step of `npm test`) proves the benchmark works; `long` is the measurement. */
export interface Form {
  name: 'quick' | 'long';
  /** Customers per integration the events are drawn from. */
  customers: number;
  producer: { events: number; inFlight: number };
  database: { events: number; lanes: number };
  /** The gateway's ceiling: claims, request document, produce and marker per 100 events, `inFlight` at a time. */
  gateway: { events: number; inFlight: number };
  /** Phase A: closed loop, `inFlight` requests of 100 at a time. Phase B: open loop at half phase A's processed rate. */
  endToEnd: { inFlight: number; phaseAMs: number; phaseBMs: number; drainMs: number };
  alone: { events: number };
  growth: { sizes: [number, number]; updates: number };
  ordering: { requests: number; batch: number };
  /** The noisy neighbour (issue 19): the victim's steady load, quiet then under attack; the attacker's slow events. */
  noisy: NoisySizes;
  /**
   * The history step (issue 22): events' worth of history loaded (each with its claim, marker and
   * monitoring records), dated over the last `spanHours`.
   */
  history: { events: number; spanHours: number };
  /** Upper bound for any one wait on the services (a step that exceeds it fails; the others still run). */
  stepTimeoutMs: number;
}

export const FORMS: Record<Form['name'], Form> = {
  quick: {
    name: 'quick',
    customers: 200,
    producer: { events: 20_000, inFlight: 4 },
    database: { events: 5_000, lanes: 2 },
    gateway: { events: 10_000, inFlight: 4 },
    endToEnd: { inFlight: 4, phaseAMs: 10_000, phaseBMs: 10_000, drainMs: 60_000 },
    alone: { events: 3_000 },
    growth: { sizes: [1_000, 5_000], updates: 2_000 },
    ordering: { requests: 10, batch: 100 },
    noisy: { victim: { batch: 10, everyMs: 250, quietMs: 8_000, attackMs: 15_000 }, slowEvents: 60 },
    history: { events: 5_000, spanHours: 25 },
    stepTimeoutMs: 180_000,
  },
  long: {
    name: 'long',
    customers: 500,
    producer: { events: 200_000, inFlight: 4 },
    database: { events: 30_000, lanes: 2 },
    gateway: { events: 50_000, inFlight: 4 },
    endToEnd: { inFlight: 4, phaseAMs: 120_000, phaseBMs: 60_000, drainMs: 600_000 },
    alone: { events: 20_000 },
    growth: { sizes: [10_000, 200_000], updates: 20_000 },
    ordering: { requests: 10, batch: 100 },
    noisy: { victim: { batch: 10, everyMs: 250, quietMs: 30_000, attackMs: 60_000 }, slowEvents: 300 },
    history: { events: 1_000_000, spanHours: 25 },
    stepTimeoutMs: 3_600_000,
  },
};
