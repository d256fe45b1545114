import { type Collection, MongoServerError } from 'mongodb';
import type { MongoStore } from './index.js';

/** Error 11000 (duplicate key): here, another instance took the slot or created the window first. */
const isDuplicateKeyError = (err: unknown) => err instanceof MongoServerError && err.code === 11000;

interface SlotDoc {
  _id: string;
  expires_at: Date;
}

interface WindowDoc {
  _id: string;
  count: number;
  expires_at: Date;
}

/**
 * How the count is kept: `increment`, one document per window and one atomic `$inc` upsert per hit
 * (MongoDB); `slots`, one document per counted hit (FerretDB, see below).
 */
export type CounterScheme = 'increment' | 'slots';

/**
 * A fixed-window counter shared by every instance (e.g. requests per organisation per minute), exact
 * under concurrency. Windows expire by their `expires_at` (TTL indexes on MongoDB; on FerretDB the
 * ingest gateway's retention sweeper, retention.ts).
 *
 * - On MongoDB (`increment`): one `$inc` upsert of the window's document per hit (collection
 *   `rate_limit_windows`); MongoDB applies it atomically, so concurrent hits never lose a count.
 * - On FerretDB (`slots`, collection `rate_limit_slots`): FerretDB 1.24 as released loses concurrent
 *   `$inc`s (docs/adr/0002), so each counted hit inserts a document `<key>:<window>:<slot>` whose `_id` is
 *   unique and the number of slots taken is the count. Slots are handed out locally first, so one
 *   instance does not collide with itself; windows over the limit insert nothing.
 */
export class WindowCounter {
  private readonly slots: Collection<SlotDoc>;
  private readonly windows: Collection<WindowDoc>;
  private readonly nextSlot = new Map<string, number>();

  constructor(
    store: MongoStore,
    /** Chosen from the server; given only by tests that hold both schemes to the same behaviour. */
    readonly scheme: CounterScheme = store.isFerretDB ? 'slots' : 'increment',
  ) {
    this.slots = store.collection<SlotDoc>('rate_limit_slots');
    this.windows = store.collection<WindowDoc>('rate_limit_windows');
  }

  /** Counts one hit if the window has room; `count` is limit + 1 when it has none. */
  async hit(
    key: string,
    windowMs: number,
    limit: number,
    now = Date.now(),
  ): Promise<{ count: number; resetAt: number }> {
    const start = Math.floor(now / windowMs) * windowMs;
    const window = `${key}:${start}`;
    const resetAt = start + windowMs;
    const expires = new Date(resetAt + windowMs);
    return this.scheme === 'increment'
      ? { count: Math.min(await this.increment(window, expires), limit + 1), resetAt }
      : { count: await this.takeSlot(window, start, limit, expires), resetAt };
  }

  private async increment(window: string, expires: Date): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const doc = await this.windows.findOneAndUpdate(
          { _id: window },
          { $inc: { count: 1 }, $setOnInsert: { expires_at: expires } },
          { upsert: true, returnDocument: 'after' },
        );
        if (!doc) throw new Error(`rate-limit window ${window}: the upsert returned no document`);
        return doc.count;
      } catch (err) {
        // Two first hits of a window racing on the insert: the loser counts again as an update.
        if (!isDuplicateKeyError(err) || attempt > 0) throw err;
      }
    }
  }

  private async takeSlot(window: string, start: number, limit: number, expires: Date): Promise<number> {
    for (;;) {
      const slot = this.nextSlot.get(window) ?? 0;
      if (slot >= limit) return limit + 1;
      this.nextSlot.set(window, slot + 1);
      try {
        await this.slots.insertOne({ _id: `${window}:${slot}`, expires_at: expires });
        this.forgetOldWindows(start);
        return slot + 1;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err; // another instance took this slot: try the next
      }
    }
  }

  private forgetOldWindows(currentStart: number): void {
    if (this.nextSlot.size < 1000) return;
    for (const k of this.nextSlot.keys()) if (!k.endsWith(`:${currentStart}`)) this.nextSlot.delete(k);
  }
}

/** The collections of the request counters (both schemes), for the services' owned collections. */
export const RATE_LIMIT_COLLECTIONS = ['rate_limit_windows', 'rate_limit_slots'] as const;
