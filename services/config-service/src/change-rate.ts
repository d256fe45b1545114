import { ApiError } from '@hub/http';

/**
 * Configuration republished per organisation (ADR 0015, decision 24). Every change of an integration
 * republishes its whole snapshot (up to `MAX_INTEGRATION_CONFIG_BYTES`) on `erp.config.changes`: the
 * database reads all its use cases, the broker stores the record and every gateway and mapper fetches it
 * before the gateway answers its next ingest request, whatever the organisation. So the bytes one
 * organisation's changes republish are metered in a bucket: it holds at most `burstBytes`, fills at
 * `bytesPerMinute`, and each published snapshot takes its size out of it (it may go below zero: a change
 * is not refused for its size, which the configuration budget bounds). A change that arrives while its
 * organisation's bucket is below zero waits until it is not (throttled, so a client that does not wait
 * for `Retry-After` is paced rather than spinning); one that would wait longer than `maxWaitMs` is
 * answered 429 `CONFIGURATION_RATE_EXCEEDED` with `Retry-After` at once. Per API instance, in memory.
 */
export interface ChangeRateSettings {
  /** Bytes of snapshots one organisation may republish per minute, sustained. */
  bytesPerMinute: number;
  /** Bytes it may republish at once after a quiet while (the bucket's size). */
  burstBytes: number;
  /** The longest a change waits for the bucket; past it, 429 at once. */
  maxWaitMs: number;
}

export const DEFAULT_CHANGE_RATE: ChangeRateSettings = {
  bytesPerMinute: 16 * 1024 * 1024,
  burstBytes: 8 * 1024 * 1024,
  maxWaitMs: 30_000,
};

interface Bucket {
  /** Bytes it may republish now (below zero: what its last changes took past the bucket). */
  level: number;
  /** When `level` was computed. */
  at: number;
}

export class ConfigurationChangeRate {
  private readonly orgs = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    readonly settings: ChangeRateSettings = DEFAULT_CHANGE_RATE,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms).unref()),
  ) {
    this.perMs = settings.bytesPerMinute / 60_000;
  }

  /** The organisation's bucket now (full when it has not republished for a while). */
  level(orgId: string): number {
    const bucket = this.orgs.get(orgId);
    if (!bucket) return this.settings.burstBytes;
    return Math.min(this.settings.burstBytes, bucket.level + (this.now() - bucket.at) * this.perMs);
  }

  /** How long a change of this organisation must wait now before it may go (0: at once). */
  waitMs(orgId: string): number {
    const level = this.level(orgId);
    return level >= 0 ? 0 : Math.ceil(-level / this.perMs);
  }

  /**
   * Resolves when a change of the organisation may go: at once, or after waiting for its bucket; 429
   * `CONFIGURATION_RATE_EXCEEDED` (with `Retry-After`) when the wait would pass `maxWaitMs`.
   */
  async admit(orgId: string): Promise<void> {
    let waited = 0;
    for (;;) {
      const wait = this.waitMs(orgId);
      if (wait === 0) return;
      if (waited + wait > this.settings.maxWaitMs) throw this.refusal(orgId, wait);
      await this.sleep(wait);
      waited += wait;
    }
  }

  /** A snapshot of `bytes` was republished for the organisation. */
  charge(orgId: string, bytes: number): void {
    const level = this.level(orgId) - bytes;
    if (level >= this.settings.burstBytes) {
      this.orgs.delete(orgId);
      return;
    }
    this.orgs.set(orgId, { level, at: this.now() });
    // Organisations whose bucket is full again are forgotten once many are known (the map stays small).
    if (this.orgs.size > 10_000)
      for (const org of [...this.orgs.keys()])
        if (this.level(org) >= this.settings.burstBytes) this.orgs.delete(org);
  }

  private refusal(orgId: string, waitMs: number): ApiError {
    const { bytesPerMinute, burstBytes } = this.settings;
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    return new ApiError(
      429,
      'CONFIGURATION_RATE_EXCEEDED',
      `this organisation's configuration changes republished more than its budget of ${bytesPerMinute} bytes of integration snapshots per minute (${burstBytes} at once; every change republishes its integration whole to every gateway and mapper): the next change may go in ${retryAfter} s (its bucket is ${Math.round(-this.level(orgId))} bytes short); make fewer changes to large integrations`,
      { 'retry-after': String(retryAfter) },
    );
  }
}
