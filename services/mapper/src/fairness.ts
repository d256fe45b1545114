/**
 * Sharing the mapper fairly between organisations (issue 19, item 3; ADR 0015, decisions 10-12): a budget
 * of worker time per organisation and the quarantine of a use case whose events keep hitting the mapping
 * budget (how many workers one organisation may run on at once is the sandbox's `maxRunningPerTenant`,
 * ADR 0015 decisions 18 and 24). The budget is per mapper instance: it protects that instance's workers
 * and start empty after a restart. A quarantine, once decided, is shared by every instance through the
 * compacted topic `erp.mapper.quarantines` (decision 13; parked events wait for a configuration change
 * either way, see parked.ts).
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

/** A use case revision (its configuration) of one organisation's integration. */
export interface UseCaseRevision {
  orgId: string;
  integrationId: string;
  useCaseId: string;
  revision: number;
}

export interface QuarantineEntry extends UseCaseRevision {
  since: string;
  /** What happened and how to resume (no event values). */
  reason: string;
}

/**
 * Use-case revisions whose events hit the mapping budget `after` times within `windowMs` are quarantined:
 * their next events are parked instead of mapped, until the use case's configuration changes (a new
 * revision is another key, so it starts afresh). The hits are counted per instance; the quarantines
 * themselves are shared (ADR 0015, decision 13): each one this instance decides is written to
 * `erp.mapper.quarantines` with the events it parks, and `restore`/`release` apply that topic's records, so
 * every instance, and this one after a restart, parks the events of a revision any instance quarantined.
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

  /** The quarantine of this use case revision, if it is quarantined. */
  get(useCaseId: string, revision: number): QuarantineEntry | undefined {
    const entry = this.quarantined.get(useCaseId);
    return entry?.revision === revision ? entry : undefined;
  }

  /**
   * Counts one event that hit the budget (`budget` says which, from the sandbox); true when the use case
   * revision is (now) quarantined.
   */
  hit(target: UseCaseRevision, budget: string): boolean {
    const { useCaseId, revision } = target;
    const key = `${useCaseId}@${revision}`;
    if (this.has(useCaseId, revision)) return true;
    const now = this.now();
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < this.settings.windowMs);
    recent.push(now);
    this.hits.set(key, recent);
    if (recent.length < this.settings.after) return false;
    this.hits.delete(key);
    const { after, windowMs } = this.settings;
    this.keep({
      ...target,
      since: new Date(now).toISOString(),
      reason: `${after} event${after === 1 ? '' : 's'} of this configuration (revision ${revision}) hit the mapping budget within ${Math.round(windowMs / 1000)} s; the last: ${budget}. Its events are parked, not lost: change the use case's configuration (any saved change) and they are mapped with the new one.`,
    });
    if (this.hits.size > 10_000) this.hits.delete(this.hits.keys().next().value!);
    return true;
  }

  /** A quarantine read from `erp.mapper.quarantines` (this instance's own or another's). */
  restore(entry: QuarantineEntry): void {
    const current = this.quarantined.get(entry.useCaseId);
    if (current && current.revision >= entry.revision) return; // the same one (keep its time) or newer
    this.keep(entry);
  }

  /** A tombstone of `erp.mapper.quarantines`: the revision was released (its use case changed). */
  release(useCaseId: string, revision: number): void {
    if (this.has(useCaseId, revision)) this.quarantined.delete(useCaseId);
  }

  private keep(entry: QuarantineEntry): void {
    this.quarantined.delete(entry.useCaseId);
    this.quarantined.set(entry.useCaseId, entry);
    // Revisions of the past are forgotten first (a Map keeps insertion order); the cap bounds memory.
    if (this.quarantined.size > 10_000) this.quarantined.delete(this.quarantined.keys().next().value!);
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
