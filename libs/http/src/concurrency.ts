import { ApiError } from './errors.js';

/**
 * At most `limit` operations in flight per key (an organisation id): one more is answered 429 at once,
 * with `Retry-After`, instead of waiting. Bounds what one organisation's heavy but allowed requests (a
 * monitoring aggregation over 200,000 records) can take from everyone else on a shared instance.
 */
export class PerKeyConcurrency {
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly limit: number,
    /** What the refused operation is, for the message ("monitoring aggregations"). */
    private readonly what: string,
  ) {}

  async run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const now = this.inFlight.get(key) ?? 0;
    if (now >= this.limit) {
      throw new ApiError(
        429,
        'TOO_MANY_CONCURRENT_REQUESTS',
        `${now} ${this.what} of this organisation are running (at most ${this.limit} at once); retry when one has answered`,
        { 'retry-after': '1' },
      );
    }
    this.inFlight.set(key, now + 1);
    try {
      return await operation();
    } finally {
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    }
  }

  /** Operations in flight for `key`. */
  running(key: string): number {
    return this.inFlight.get(key) ?? 0;
  }
}
