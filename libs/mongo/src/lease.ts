import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { isDuplicateKeyError } from './errors.js';
import type { MongoStore } from './index.js';

interface LeaseDoc {
  _id: string;
  holder: string;
  expires_at: Date;
}

/** The lease was held by another holder for longer than the caller would wait. */
export class LeaseBusyError extends Error {
  readonly code = 'LEASE_BUSY';
  constructor(
    readonly key: string,
    waitedMs: number,
  ) {
    super(`lease "${key}" is held by another operation (waited ${waitedMs} ms)`);
  }
}

export interface LeaseOptions {
  /** How long a lease holds if its holder never releases it (a crash): then another may take it over. */
  ttlMs: number;
  /** How long to wait for a lease another holds before giving up (`LeaseBusyError`). */
  waitMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Leases: one holder of a key at a time, across every instance of every service (a check and the write
 * it allows, such as an organisation's configuration budget, which no transaction covers on FerretDB).
 * Built on what MongoDB and FerretDB both do atomically: a lease is a document whose `_id` is the key, so
 * taking it is an insert that fails with a duplicate key while another holds it; releasing deletes it
 * (only its own holder's); a lease left past its `expires_at` by a holder that died is taken over by a
 * conditional delete, which only one of the contenders wins. Collection `leases` (no index beyond `_id`).
 */
export class Leases {
  private readonly docs: Collection<LeaseDoc>;

  constructor(store: MongoStore) {
    this.docs = store.collection<LeaseDoc>('leases');
  }

  /** Runs `body` holding the lease of `key`, waiting for it first; releases it whatever `body` does. */
  async hold<T>(key: string, options: LeaseOptions, body: () => Promise<T>): Promise<T> {
    const holder = await this.acquire(key, options);
    try {
      return await body();
    } finally {
      await this.docs.deleteOne({ _id: key, holder }).catch(() => {
        // Left to expire: the next holder takes it over past its `expires_at`.
      });
    }
  }

  private async acquire(key: string, { ttlMs, waitMs }: LeaseOptions): Promise<string> {
    const holder = randomUUID();
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.docs.insertOne({ _id: key, holder, expires_at: new Date(Date.now() + ttlMs) });
        return holder;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      // Held: taken over if its holder let it expire, else wait a little (with jitter) and try again.
      const expired = await this.docs.deleteOne({ _id: key, expires_at: { $lt: new Date() } });
      if (expired.deletedCount > 0) continue;
      const waited = Date.now() - started;
      if (waited >= waitMs) throw new LeaseBusyError(key, waited);
      await sleep(Math.min(200, 10 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random()));
    }
  }
}
