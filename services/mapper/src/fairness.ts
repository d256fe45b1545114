/**
 * Sharing the mapper fairly between organisations (issue 19, item 3; ADR 0015, decisions 10-12): a budget
 * of worker time per organisation, a gate that lets each organisation have only as many mappings in the
 * sandbox at once as it has workers, and the quarantine of a use case whose events keep hitting the
 * mapping budget. All three are per mapper instance: they protect that instance's workers, need no shared
 * state, and start empty after a restart (a quarantine is re-established by the next events that hit the
 * budget; parked events wait for a configuration change either way, see parked.ts).
 */

/** Worker time per organisation over a sliding window (kept in ten slices of a tenth of it). */
export class OrgBudget {
  /** Per organisation, ten slices: which slice of time each holds, and the worker time charged in it. */
  private readonly orgs = new Map<string, Array<{ slice: number; ms: number }>>();
  private readonly sliceMs: number;

  constructor(
    private readonly settings: { budgetMs: number; windowMs: number },
    private readonly now: () => number = Date.now,
  ) {
    this.sliceMs = Math.max(1, Math.floor(settings.windowMs / 10));
  }

  charge(org: string, ms: number): void {
    const slice = Math.floor(this.now() / this.sliceMs);
    let slices = this.orgs.get(org);
    if (!slices) {
      if (this.orgs.size >= 10_000) this.forgetIdle();
      slices = Array.from({ length: 10 }, () => ({ slice: -1, ms: 0 }));
      this.orgs.set(org, slices);
    }
    const at = slices[slice % 10]!;
    if (at.slice !== slice) {
      at.slice = slice;
      at.ms = 0;
    }
    at.ms += ms;
  }

  /** Worker time the organisation used in the window. */
  used(org: string): number {
    const slice = Math.floor(this.now() / this.sliceMs);
    let sum = 0;
    for (const at of this.orgs.get(org) ?? []) if (slice - at.slice < 10) sum += at.ms;
    return sum;
  }

  over(org: string): boolean {
    return this.used(org) > this.settings.budgetMs;
  }

  private forgetIdle(): void {
    for (const org of [...this.orgs.keys()]) if (this.used(org) === 0) this.orgs.delete(org);
  }
}

/** At most `capacity` mappings of one organisation in the sandbox at once; the others wait here, in order. */
export class OrgGate {
  private readonly orgs = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(readonly capacity: number) {}

  /**
   * The gate of a sandbox of `workers`: one organisation holds at most all but one of them (one, with a
   * single worker), so another organisation's mapping finds a worker free at once instead of waiting for
   * one of its jobs to end, which may be the mapping deadline away (ADR 0015, decision 13).
   */
  static forWorkers(workers: number): OrgGate {
    return new OrgGate(Math.max(1, workers - 1));
  }

  async acquire(org: string): Promise<() => void> {
    let state = this.orgs.get(org);
    if (!state) {
      state = { running: 0, waiting: [] };
      this.orgs.set(org, state);
    }
    const s = state;
    if (s.running >= this.capacity) await new Promise<void>((resolve) => s.waiting.push(resolve));
    else s.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = s.waiting.shift();
      if (next)
        next(); // the slot passes on
      else if (--s.running === 0) this.orgs.delete(org);
    };
  }
}

export interface QuarantineEntry {
  orgId: string;
  useCaseId: string;
  revision: number;
  since: string;
}

/**
 * Use-case revisions whose events hit the mapping budget `after` times within `windowMs` are quarantined:
 * their next events are parked instead of mapped, until the use case's configuration changes (a new
 * revision is another key, so it starts afresh).
 */
export class Quarantine {
  private readonly hits = new Map<string, number[]>();
  /** By use case id: one revision of a use case is quarantined at a time (a newer one replaces it). */
  private readonly quarantined = new Map<string, QuarantineEntry>();

  constructor(
    private readonly settings: { after: number; windowMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  has(useCaseId: string, revision: number): boolean {
    return this.quarantined.get(useCaseId)?.revision === revision;
  }

  /** Counts one event that hit the budget; true when the use case revision is (now) quarantined. */
  hit(orgId: string, useCaseId: string, revision: number): boolean {
    const key = `${useCaseId}@${revision}`;
    if (this.has(useCaseId, revision)) return true;
    const now = this.now();
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < this.settings.windowMs);
    recent.push(now);
    this.hits.set(key, recent);
    if (recent.length < this.settings.after) return false;
    this.hits.delete(key);
    this.quarantined.set(useCaseId, { orgId, useCaseId, revision, since: new Date(now).toISOString() });
    // Revisions of the past are forgotten first (a Map keeps insertion order); the cap bounds memory.
    if (this.quarantined.size > 10_000) this.quarantined.delete(this.quarantined.keys().next().value!);
    if (this.hits.size > 10_000) this.hits.delete(this.hits.keys().next().value!);
    return true;
  }

  /** Forgets the older revisions of a use case once a newer one is seen (its configuration changed). */
  seen(useCaseId: string, revision: number): void {
    const entry = this.quarantined.get(useCaseId);
    if (entry && entry.revision < revision) this.quarantined.delete(useCaseId);
  }

  get size(): number {
    return this.quarantined.size;
  }

  list(): QuarantineEntry[] {
    return [...this.quarantined.values()];
  }
}
